"""SQLite persistence of the Durable engine: instances, history, inbox, pending activities, entities.

One connection owned by the engine's event loop thread; WAL with synchronous=NORMAL, so every commit survives
the process being killed. Every change an episode or a batch of completions makes goes through one
:class:`Batch` applied in one transaction: new history, consumed messages and new work commit together.
Row ids are allocated here in memory (this process owns the file), so batched inserts need no round trips.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...errors import ConfigError

SCHEMA = """
CREATE TABLE IF NOT EXISTS instances (
  instance_id TEXT PRIMARY KEY, name TEXT NOT NULL, status TEXT NOT NULL, input TEXT, output TEXT,
  custom_status TEXT, created TEXT NOT NULL, updated TEXT NOT NULL, generation INTEGER NOT NULL,
  parent_id TEXT, parent_task INTEGER, parent_generation INTEGER);
CREATE TABLE IF NOT EXISTS history (
  instance_id TEXT NOT NULL, seq INTEGER NOT NULL, event TEXT NOT NULL, PRIMARY KEY (instance_id, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS inbox (
  id INTEGER PRIMARY KEY, instance_id TEXT NOT NULL, generation INTEGER, visible_at REAL NOT NULL,
  event TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS inbox_instance ON inbox (instance_id);
CREATE TABLE IF NOT EXISTS activities (
  id INTEGER PRIMARY KEY, instance_id TEXT NOT NULL, generation INTEGER NOT NULL, task_id INTEGER NOT NULL,
  name TEXT NOT NULL, input TEXT);
CREATE TABLE IF NOT EXISTS entities (entity_id TEXT PRIMARY KEY, state TEXT, updated TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS entity_inbox (id INTEGER PRIMARY KEY, entity_id TEXT NOT NULL, message TEXT NOT NULL);
"""

INSTANCE_COLUMNS = (
    "instance_id, name, status, input, output, custom_status, created, updated, generation, "
    "parent_id, parent_task, parent_generation"
)


@dataclass
class InstanceRow:
    instance_id: str
    name: str
    status: str
    input_json: str | None
    output_json: str | None
    custom_status_json: str | None
    created: str
    updated: str
    generation: int
    parent_id: str | None = None
    parent_task: int | None = None
    parent_generation: int | None = None

    def values(self) -> tuple:
        return (
            self.instance_id, self.name, self.status, self.input_json, self.output_json,
            self.custom_status_json, self.created, self.updated, self.generation,
            self.parent_id, self.parent_task, self.parent_generation,
        )  # fmt: skip


@dataclass
class Message:
    """An event waiting in an instance's inbox; ``generation`` None means any execution (raised events)."""

    id: int
    instance_id: str
    generation: int | None
    visible_at: float
    event: dict[str, Any]


@dataclass
class ActivityRow:
    id: int
    instance_id: str
    generation: int
    task_id: int
    name: str
    input_json: str | None


@dataclass
class EntityMessageRow:
    id: int
    entity_id: str
    message: dict[str, Any]


@dataclass
class Batch:
    """Changes committed together by :meth:`DurableStore.apply`."""

    instances: list[InstanceRow] = field(default_factory=list)
    history: list[tuple[str, int, dict]] = field(default_factory=list)
    reset_history: list[str] = field(default_factory=list)
    inbox: list[Message] = field(default_factory=list)
    drop_inbox: list[int] = field(default_factory=list)
    activities: list[ActivityRow] = field(default_factory=list)
    drop_activities: list[int] = field(default_factory=list)
    entity_messages: list[EntityMessageRow] = field(default_factory=list)
    drop_entity_messages: list[int] = field(default_factory=list)
    entity_states: list[tuple[str, str | None, str]] = field(default_factory=list)
    purge: list[str] = field(default_factory=list)


class DurableStore:
    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.executescript(SCHEMA)
            self._next = {t: self._max_id(t) + 1 for t in ("inbox", "activities", "entity_inbox")}
        except sqlite3.DatabaseError as err:  # not a database, or not ours: say which file, not a traceback
            self.db.close()
            raise ConfigError(
                f"cannot use {self.path} as the Durable state ({err}): restore it, or move it away to start "
                "with no orchestration history"
            ) from None

    def _max_id(self, table: str) -> int:
        return self.db.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}").fetchone()[0]

    def new_id(self, table: str) -> int:
        value = self._next[table]
        self._next[table] = value + 1
        return value

    def close(self) -> None:
        self.db.close()

    # ---- reads
    def instance(self, instance_id: str) -> InstanceRow | None:
        row = self.db.execute(
            f"SELECT {INSTANCE_COLUMNS} FROM instances WHERE instance_id = ?", (instance_id,)
        ).fetchone()
        return InstanceRow(*row) if row else None

    def instances(self, where: str = "", params: tuple = ()) -> list[InstanceRow]:
        sql = f"SELECT {INSTANCE_COLUMNS} FROM instances {where} ORDER BY created"
        return [InstanceRow(*row) for row in self.db.execute(sql, params)]

    def history(self, instance_id: str) -> list[dict[str, Any]]:
        rows = self.db.execute("SELECT event FROM history WHERE instance_id = ? ORDER BY seq", (instance_id,))
        return [json.loads(text) for (text,) in rows]

    def inbox(self, instance_id: str | None = None) -> list[Message]:
        """Messages waiting in the inbox (of one instance, or all), oldest first."""
        sql = "SELECT id, instance_id, generation, visible_at, event FROM inbox"
        params: tuple = ()
        if instance_id is not None:
            sql, params = sql + " WHERE instance_id = ?", (instance_id,)
        rows = self.db.execute(sql + " ORDER BY id", params)
        return [Message(i, iid, gen, vis, json.loads(ev)) for i, iid, gen, vis, ev in rows]

    def activities(self) -> list[ActivityRow]:
        rows = self.db.execute(
            "SELECT id, instance_id, generation, task_id, name, input FROM activities ORDER BY id"
        )
        return [ActivityRow(*row) for row in rows]

    def entity_messages(self) -> list[EntityMessageRow]:
        rows = self.db.execute("SELECT id, entity_id, message FROM entity_inbox ORDER BY id")
        return [EntityMessageRow(i, eid, json.loads(text)) for i, eid, text in rows]

    def entity_state(self, entity_id: str) -> str | None:
        row = self.db.execute("SELECT state FROM entities WHERE entity_id = ?", (entity_id,)).fetchone()
        return row[0] if row else None

    # ---- writes
    def apply(self, batch: Batch) -> None:
        """Commit every change of ``batch`` in one transaction."""
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            for instance_id in batch.purge:
                for table in ("instances", "history", "inbox", "activities"):
                    db.execute(f"DELETE FROM {table} WHERE instance_id = ?", (instance_id,))
            db.executemany("DELETE FROM history WHERE instance_id = ?", [(i,) for i in batch.reset_history])
            db.executemany(
                f"INSERT OR REPLACE INTO instances ({INSTANCE_COLUMNS}) VALUES ({','.join('?' * 12)})",
                [row.values() for row in batch.instances],
            )
            db.executemany(
                "INSERT OR REPLACE INTO history (instance_id, seq, event) VALUES (?, ?, ?)",
                [(iid, seq, json.dumps(ev)) for iid, seq, ev in batch.history],
            )
            db.executemany("DELETE FROM inbox WHERE id = ?", [(i,) for i in batch.drop_inbox])
            db.executemany(
                "INSERT INTO inbox (id, instance_id, generation, visible_at, event) VALUES (?, ?, ?, ?, ?)",
                [(m.id, m.instance_id, m.generation, m.visible_at, json.dumps(m.event)) for m in batch.inbox],
            )
            db.executemany("DELETE FROM activities WHERE id = ?", [(i,) for i in batch.drop_activities])
            db.executemany(
                "INSERT INTO activities (id, instance_id, generation, task_id, name, input) VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (a.id, a.instance_id, a.generation, a.task_id, a.name, a.input_json)
                    for a in batch.activities
                ],
            )
            db.executemany(
                "DELETE FROM entity_inbox WHERE id = ?", [(i,) for i in batch.drop_entity_messages]
            )
            db.executemany(
                "INSERT INTO entity_inbox (id, entity_id, message) VALUES (?, ?, ?)",
                [(m.id, m.entity_id, json.dumps(m.message)) for m in batch.entity_messages],
            )
            db.executemany(
                "INSERT OR REPLACE INTO entities (entity_id, state, updated) VALUES (?, ?, ?)",
                batch.entity_states,
            )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
