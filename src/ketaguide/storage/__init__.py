"""Storage: the server's database through SQLAlchemy Core (SQLite embedded by default, PostgreSQL for teams).

    engine.py      Database: one engine with the durability settings (SQLite WAL, synchronous=FULL, foreign
                   keys, BEGIN IMMEDIATE for writes; PostgreSQL's synchronous commit), read and write transactions
    tables.py      the tables (users, patients, encounters, observations, idempotency keys, audit trail, CDS
                   Hooks replay guard and feedback)
    migrations/    Alembic migrations, shipped as package data; schema.py runs and checks them
    repository.py  the queries the services run, each inside a transaction the caller opened
    audit.py       the hash-chained, append-only audit trail: append and verify
    errors.py      NotFound, Gone, Conflict, PreconditionFailed, PreconditionRequired

Nothing here knows HTTP or the command line; the services open transactions and decide what to audit.
"""
