"""Data movement: parallel resumable transfers with integrity checks, directory sync, task staging
and application packages (hpcpack/hpcsync). All of it works through the BlobStore port only."""

from hpcburst.data.progress import TransferProgress
from hpcburst.data.sync import SyncReport, sync_down, sync_up
from hpcburst.data.transfer_download import DownloadStats, download
from hpcburst.data.transfer_upload import DEFAULT_BLOCK_SIZE, DEFAULT_CONCURRENCY, UploadStats, upload

__all__ = [
    "DEFAULT_BLOCK_SIZE",
    "DEFAULT_CONCURRENCY",
    "DownloadStats",
    "SyncReport",
    "TransferProgress",
    "UploadStats",
    "download",
    "sync_down",
    "sync_up",
    "upload",
]
