"""The broker's databases: API keys and the embedded Song, in SQLite files or in PostgreSQL."""
