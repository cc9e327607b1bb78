"""The stored records of a deployment: its database and the clock that dates every change and audit event."""

from __future__ import annotations

from dataclasses import dataclass

from ketaguide.domain.ports import Clock
from ketaguide.storage.engine import Database


@dataclass(frozen=True)
class Records:
    database: Database
    clock: Clock
