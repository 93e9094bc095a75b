"""SOA sessions: the broker, its journal, registrations, session records and their housekeeping."""
