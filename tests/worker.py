"""A real Celery worker process for tests marked `worker`, against the test database."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection

from portal.celery import app as celery_app
from tests.switches import required

ROOT = Path(__file__).resolve().parents[1]
QUEUES = "default,imports,training,forecasts"


def test_database_url() -> str:
    """A DATABASE_URL naming the test database this process uses."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{Path(db['NAME']).resolve()}"
    auth = quote(db["USER"] or "")
    if db["PASSWORD"]:
        auth += ":" + quote(db["PASSWORD"])
    host = f"{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}"
    return f"postgres://{auth}@{host}/{db['NAME']}"


def local_paths() -> dict[str, str]:
    """The test's own file locations (uploads, models, keys), for the worker too."""
    return {name: str(getattr(settings, name))
            for name in ("UPLOAD_ROOT", "MODEL_ROOT", "AUDIT_SIGNING_KEY_PATH")}


def broker_or_skip() -> None:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        message = "needs CELERY_BROKER_URL (a real broker) for a real worker"
        if required("REQUIRE_WORKER"):
            pytest.fail(message)
        pytest.skip(message)


def share_cache_with_workers(settings) -> str:
    """Point this process's cache at a Redis that workers started with ``CACHE_URL=`` the
    returned URL share (imports report their progress there): CACHE_URL, else the broker."""
    url = os.environ.get("CACHE_URL") or settings.CELERY_BROKER_URL or ""
    if not url.startswith(("redis://", "rediss://")):
        message = "needs CACHE_URL (or a Redis broker) shared by the test and its workers"
        if required("REQUIRE_WORKER"):
            pytest.fail(message)
        pytest.skip(message)
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": url}}
    return url


class WorkerProcess:
    def __init__(self, log_path: Path, extra_env: dict[str, str]):
        self.name = f"test-{uuid.uuid4().hex[:8]}@localhost"
        self.log_path = log_path
        env = {**os.environ, "DATABASE_URL": test_database_url(), **local_paths(), **extra_env}
        self.log = open(log_path, "w")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "portal", "worker", "-Q", QUEUES,
             "--concurrency", "1", "--loglevel", "INFO", "-n", self.name, "--without-heartbeat",
             "--without-mingle", "--without-gossip"],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT,
        )

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"worker exited early:\n{self.log_path.read_text()}")
            if "ready." in self.log_path.read_text():
                return
            time.sleep(0.2)
        raise TimeoutError(f"worker not ready:\n{self.log_path.read_text()}")

    def kill(self) -> None:
        """SIGKILL the whole worker (main process and its pool children)."""
        subprocess.run(["pkill", "-KILL", "-f", self.name], check=False)
        self.process.kill()
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log.close()


def wait_for(predicate, timeout: float = 60, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError("condition not met in time")


@pytest.fixture
def start_worker(tmp_path):
    """Start real worker processes; each is stopped after the test."""
    broker_or_skip()
    celery_app.control.purge()
    workers: list[WorkerProcess] = []

    def start(**extra_env: str) -> WorkerProcess:
        worker = WorkerProcess(tmp_path / f"worker-{len(workers)}.log", extra_env)
        workers.append(worker)
        worker.wait_ready()
        return worker

    yield start
    for worker in workers:
        worker.stop()
        # shown by pytest when the test failed
        print(f"--- {worker.log_path.name} ---\n{worker.log_path.read_text()[-4000:]}")
