"""SOA sessions on the server: the broker, its durable journal, service registrations and session records."""
