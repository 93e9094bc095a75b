"""SOA sessions on the server: the broker engine (``broker`` with its steps beside it), its durable journal
(``journal``), service registrations (``registry``), session records (``sessions``), common-data grants (``data``),
housekeeping of sessions (``housekeeping``) and their wiring (``services``). See docs/soa.md."""
