"""The state store port (documents by partition + id with etag compare-and-set) and its adapters."""

from hpcburst.storage.state.port import Document, Page, StateStore, WriteOp

__all__ = ["Document", "Page", "StateStore", "WriteOp"]
