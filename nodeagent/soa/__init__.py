"""The node agent's SOA side: service host processes, the SOA poll loop and the common-data cache.

- ``hostproc``: one host process, its pipes (``hpcburst.soa.framing``) and the calls it holds;
- ``hosts``: every host of the node (start, dispatch, stop, timeouts) and the responses waiting to go back;
- ``cache``: the sessions' common data, downloaded once per node;
- ``loop``: ``POST /api/agent/soa`` in steps (a long-poll and an immediate flush), run by ``nodeagent.service``.
"""
