"""SOA sessions on the server: the broker engine (``broker`` with its steps beside it), service
registrations (``registry``), session records (``sessions``), common-data grants (``data``) and their
wiring (``services``). See docs/soa.md."""
