"""SOA sessions (HPC Pack's second application model): registered services, sessions, the broker's wire shapes.

``models``: what is registered and stored (ServiceRegistration, SessionStartInfo, SessionView).
``protocol``: the HTTP bodies between the client SDK, the broker and the node agents (``docs/soa.md``).
"""
