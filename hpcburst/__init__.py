"""hpcburst: an event-driven orchestrator for HPC work on hybrid clusters."""

__version__ = "0.1.0"
