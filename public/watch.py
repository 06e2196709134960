"""Told by PostgreSQL when any agency's public map may have changed (LISTEN/NOTIFY).

Triggers (migration public 0002) send a notification on the `public_state` channel, at
commit, whenever public releases are added, changed or deleted and whenever an agency
row changes. A `StateWatch` keeps one connection per process listening on that channel
from a thread and counts the notifications. While it listens, the public edge can reuse
what `serving.published_row` said for as long as no notification came since: a change is
seen as soon as its notification arrives (within milliseconds of the commit), without one
query per request. Whenever the watch is not known to be listening (starting, reconnecting,
its probes not echoed for a few seconds, the triggers missing or disabled), `current()` is
None and the edge asks the database every time.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time

import psycopg

log = logging.getLogger(__name__)
CHANNEL = "public_state"
APPLICATION_NAME = "public-state-watch"  # as pg_stat_activity shows it


class StateWatch:
    """One listening connection per process (started on first use, after a fork).

    It counts as listening only while its own probes come back: every second it notifies
    a channel of its own on the same connection and waits for the echo (so a connection
    that cannot receive notifications, or died without a word, stops counting within
    `max_silence` seconds), and only once both triggers are found enabled.
    """

    TRIGGERS = ("public_release_state_changed", "agencies_agency_public_state_changed",
                "predictions_arealayer_public_state_changed")

    def __init__(self, conninfo: dict, *, retry_seconds: float = 1.0,
                 max_silence: float = 3.0):
        self.conninfo = {"keepalives": 1, "keepalives_idle": 5, "keepalives_interval": 1,
                         "keepalives_count": 3, "tcp_user_timeout": 5000,
                         "application_name": APPLICATION_NAME, **conninfo}
        self.retry_seconds = retry_seconds
        self.max_silence = max_silence
        self._generation = 0
        self._heard = 0.0  # monotonic time the last probe came back
        self._pid = None
        self._thread: threading.Thread | None = None
        self._conn = None
        self._lock = threading.Lock()
        self._stop = threading.Event()

    @classmethod
    def for_default_database(cls) -> StateWatch | None:
        """A watch on Django's default database when it is PostgreSQL, else None."""
        from django.db import connection

        if connection.vendor != "postgresql":
            return None
        params = connection.get_connection_params()
        drop = ("cursor_factory", "context", "prepare_threshold")  # Django's own adapters
        return cls({k: v for k, v in params.items() if k not in drop and v is not None})

    def current(self) -> int | None:
        """A number that changes whenever the public state may have changed, or None when
        nothing is known to be listening (then every answer is checked with the database)."""
        if self._pid != os.getpid():
            self._start()
            return None
        generation = self._generation
        if time.monotonic() - self._heard > self.max_silence:
            return None
        return generation

    def _start(self) -> None:
        with self._lock:
            if self._pid == os.getpid():
                return
            self._pid = os.getpid()
            self._heard = 0.0
            self._thread = threading.Thread(target=self._run, name="public-state-watch",
                                            daemon=True)
            self._thread.start()

    def stop(self, seconds: float = 5.0) -> None:
        """Stop listening and close the connection (tests; a process exit does it too)."""
        self._stop.set()
        self._heard = 0.0
        conn = self._conn
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.cancel_safe()
        if self._thread is not None:
            self._thread.join(seconds)

    def _triggers_enabled(self, conn) -> bool:
        row = conn.execute(
            "SELECT count(*) FROM pg_trigger WHERE tgname = ANY(%s) AND tgenabled <> 'D'",
            [list(self.TRIGGERS)]).fetchone()
        return row[0] == len(self.TRIGGERS)

    def _run(self) -> None:
        probe_channel = f"{CHANNEL}_probe_{os.getpid()}"
        sent = 0
        while not self._stop.is_set():
            try:
                with psycopg.connect(**self.conninfo, autocommit=True) as conn:
                    self._conn = conn
                    conn.execute(f"LISTEN {CHANNEL}")
                    conn.execute(f"LISTEN {probe_channel}")
                    # anything remembered before now may predate a missed notification
                    self._generation += 1
                    while not self._stop.is_set():
                        if not self._triggers_enabled(conn):
                            log.warning("public state triggers missing or disabled")
                            self._heard = 0.0
                            self._stop.wait(self.retry_seconds)
                            continue
                        sent += 1
                        conn.execute("SELECT pg_notify(%s, %s)", [probe_channel, str(sent)])
                        for note in conn.notifies(timeout=1.0):
                            if note.channel == probe_channel:
                                if note.payload == str(sent):
                                    self._heard = time.monotonic()
                            else:
                                self._generation += 1
            except Exception:  # noqa: BLE001 - keep trying; the edge asks the database
                if not self._stop.is_set():
                    log.warning("public state watch lost its connection", exc_info=True)
            finally:
                self._conn = None
                self._heard = 0.0
                self._generation += 1
            self._stop.wait(self.retry_seconds)

    def wait_listening(self, seconds: float = 5.0) -> bool:
        """For tests: start (if needed) and wait until the watch listens."""
        self.current()
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.current() is not None:
                return True
            time.sleep(0.01)
        return False
