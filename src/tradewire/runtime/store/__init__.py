"""The store: one port, SQLite and PostgreSQL backends and an in-memory twin."""
