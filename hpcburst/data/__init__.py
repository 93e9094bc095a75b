"""Data movement: parallel resumable transfers with integrity checks, directory sync, task staging
and application packages (hpcpack/hpcsync). Everything works through the BlobStore port only, so
a node agent holding just a SAS can use all of it.

Modules: ``transfer_upload`` / ``transfer_download`` (one file <-> one blob), ``manifest`` (per-block
and whole-file hashes beside the blob), ``hashing`` (block ids from content), ``progress`` (rate/ETA
callback), ``sync`` (directories), ``staging`` (NodeCache: task inputs/outputs), ``packages`` /
``package_archive`` / ``package_install`` (registry, safe zips, node install), ``bench`` (throughput
analyzer), ``filelock`` (one flock per key, shared by the node cache and the package installer). The
transfer that SIGKILLs itself half-way, for resume tests and the bench, is test code:
``tests/data/transfer_kill.py``.
"""

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
