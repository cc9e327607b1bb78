"""Alembic migrations (package data): `env.py` runs them on the connection `ketaguide.storage.schema` hands it."""
