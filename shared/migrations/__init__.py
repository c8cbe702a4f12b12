"""Versioned schema migrations (Postgres through alembic)."""
