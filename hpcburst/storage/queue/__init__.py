"""The work queue port (at-least-once messages with a visibility lease) and its Azure Storage adapter."""

from hpcburst.storage.queue.port import Message, WorkQueue

__all__ = ["Message", "WorkQueue"]
