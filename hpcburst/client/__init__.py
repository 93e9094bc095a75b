"""The Python SDK over the cluster's HTTP API (``Scheduler``), shaped after HPC Pack's scheduler API."""

from hpcburst.client.scheduler import Scheduler
from hpcburst.client.specs import JobDraft, command_line, parse_sweep

__all__ = ["JobDraft", "Scheduler", "command_line", "parse_sweep"]
