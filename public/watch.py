"""Told by PostgreSQL when any agency's public map may have changed (LISTEN/NOTIFY).

Triggers (migration public 0002) send a notification on the `public_state` channel, at
commit, whenever public releases are added, changed or deleted and whenever an agency
row changes. A `StateWatch` keeps one connection per process listening on that channel
from a thread and counts the notifications. While it listens, the public edge can reuse
what `serving.published_row` said for as long as no notification came since: a change is
seen as soon as its notification arrives (within milliseconds of the commit), without one
query per request. Whenever the watch is not listening (starting, reconnecting, the
database restarted), `current()` is None and the edge asks the database every time.
"""

from __future__ import annotations

import logging
import os
import threading
import time

import psycopg

log = logging.getLogger(__name__)
CHANNEL = "public_state"


class StateWatch:
    """One listening connection per process (started on first use, after a fork)."""

    def __init__(self, conninfo: dict, *, retry_seconds: float = 1.0):
        self.conninfo = conninfo
        self.retry_seconds = retry_seconds
        self._generation = 0
        self._listening = False
        self._pid = None
        self._lock = threading.Lock()
        self._stop = threading.Event()

    @classmethod
    def for_default_database(cls) -> StateWatch | None:
        """A watch on Django's default database when it is PostgreSQL, else None."""
        from django.db import connection

        if connection.vendor != "postgresql":
            return None
        params = connection.get_connection_params()
        keep = ("dbname", "user", "password", "host", "port", "sslmode", "sslrootcert",
                "sslcert", "sslkey", "service", "options", "connect_timeout")
        return cls({k: v for k, v in params.items() if k in keep and v is not None})

    def current(self) -> int | None:
        """A number that changes whenever the public state may have changed, or None when
        nothing is listening (then every answer must be checked with the database)."""
        if self._pid != os.getpid():
            self._start()
            return None
        return self._generation if self._listening else None

    def _start(self) -> None:
        with self._lock:
            if self._pid == os.getpid():
                return
            self._pid = os.getpid()
            self._listening = False
            threading.Thread(target=self._run, name="public-state-watch", daemon=True).start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                with psycopg.connect(**self.conninfo, autocommit=True) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    # anything cached before this moment may predate a missed notification
                    self._generation += 1
                    self._listening = True
                    while not self._stop.is_set():
                        for _ in conn.notifies(timeout=1.0):
                            self._generation += 1
                        conn.execute("SELECT 1")  # a dropped connection shows here
            except Exception:  # noqa: BLE001 - keep trying; the edge asks the database
                log.warning("public state watch lost its connection", exc_info=True)
            finally:
                self._listening = False
                self._generation += 1
            self._stop.wait(self.retry_seconds)

    def wait_listening(self, seconds: float = 5.0) -> bool:
        """For tests: start (if needed) and wait until the watch listens."""
        self.current()
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self._listening:
                return True
            time.sleep(0.01)
        return False
