"""The blob store port (containers of named blobs, block staging, metadata, SAS) and its Azure adapter."""

from hpcburst.storage.blob.port import BlobInfo, BlobStore

__all__ = ["BlobInfo", "BlobStore"]
