"""The hpcburst node agent: registers with the cluster, leases sweep indices over outbound HTTP(S) only,
runs each in its own process group with the HPC Pack environment, keeps output in blob storage and reports
results in batches. ``python -m nodeagent --help``; ``deploy/systemd/hpcburst-agent.service`` runs it.
"""
