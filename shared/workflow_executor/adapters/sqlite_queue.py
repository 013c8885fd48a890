"""The embedded MessageQueue of ``wfx serve``: topics and subscriptions in the SQLite file (or a
private in-memory database). A publish gives each subscription bound to the topic its own copy
(as Pub/Sub does) and then tells ``on_publish``, which starts the workflows triggered by it."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Mapping

from ..errors import NotFound
from ..ports_tools import QueueMessage
from .sqlite import SqliteBase

POLL_S = 0.2  # a publish by another process is seen this late by a waiting pull
_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS mq_messages (
        id INTEGER PRIMARY KEY AUTOINCREMENT, topic TEXT NOT NULL, data BLOB NOT NULL,
        attributes TEXT NOT NULL, published_at_s REAL NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS mq_deliveries (
        subscription TEXT NOT NULL, message_id INTEGER NOT NULL, PRIMARY KEY (subscription, message_id))""",
)


class SqliteMessageQueue(SqliteBase):
    """MessageQueue in SQLite. ``subscriptions`` maps each subscription to the topic it reads."""

    backend = "sqlite"

    def __init__(self, path: str | os.PathLike[str], subscriptions: Mapping[str, str],
                 on_publish: Callable[[str, QueueMessage], None] | None = None) -> None:
        super().__init__(path)
        self._subs = dict(subscriptions)
        self._on_publish = on_publish
        self._published = threading.Condition()
        with self._tx() as db:
            for stmt in _SCHEMA:
                db.execute(stmt)

    def publish(self, topic: str, data: bytes, attributes: Mapping[str, str]) -> str:
        now = time.time()
        readers = [s for s, t in self._subs.items() if t == topic]
        with self._tx() as db:
            # AUTOINCREMENT: an id is never reused, so it identifies the message (trigger dedup)
            mid = db.execute("INSERT INTO mq_messages (topic, data, attributes, published_at_s) VALUES (?, ?, ?, ?)",
                             (topic, data, json.dumps(dict(attributes)), now)).lastrowid
            db.executemany("INSERT INTO mq_deliveries (subscription, message_id) VALUES (?, ?)",
                           [(s, mid) for s in readers])
            if not readers:  # no subscription keeps it (Pub/Sub drops it too); triggers still see it
                db.execute("DELETE FROM mq_messages WHERE id = ?", (mid,))
        with self._published:
            self._published.notify_all()
        message = QueueMessage(str(mid), data, dict(attributes), now)
        if self._on_publish is not None:
            self._on_publish(topic, message)
        return message.id

    def pull(self, subscription: str, max_messages: int, wait_s: float) -> list[QueueMessage]:
        if subscription not in self._subs:
            raise NotFound(f"subscription '{subscription}' does not exist here",
                           fix="the operator lists it in WFX_MQ_SUBSCRIPTIONS (name=topic)")
        end = time.monotonic() + max(wait_s, 0.0)
        while True:
            got = self._take(subscription, max_messages)
            left = end - time.monotonic()
            if got or left <= 0:
                return got
            with self._published:
                self._published.wait(min(left, POLL_S))

    def _take(self, subscription: str, limit: int) -> list[QueueMessage]:
        with self._tx() as db:
            rows = db.execute(
                "SELECT m.id, m.data, m.attributes, m.published_at_s FROM mq_deliveries d JOIN mq_messages m"
                " ON m.id = d.message_id WHERE d.subscription = ? ORDER BY d.message_id LIMIT ?",
                (subscription, limit)).fetchall()
            ids = [r[0] for r in rows]
            db.executemany("DELETE FROM mq_deliveries WHERE subscription = ? AND message_id = ?",
                           [(subscription, i) for i in ids])
            db.executemany("DELETE FROM mq_messages WHERE id = ? AND NOT EXISTS"
                           " (SELECT 1 FROM mq_deliveries WHERE message_id = ?)", [(i, i) for i in ids])
        return [QueueMessage(str(i), bytes(d), json.loads(a), p) for i, d, a, p in rows]
