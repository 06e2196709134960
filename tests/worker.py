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


def process_env(extra_env: dict[str, str | None]) -> dict[str, str]:
    """This process's environment for a worker or beat, on the test database and files;
    ``None`` in `extra_env` removes a variable (e.g. to run with a setting's default)."""
    env = {**os.environ, "DATABASE_URL": test_database_url(), **local_paths()}
    for name, value in extra_env.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def forget_broker_state() -> None:
    """Empty every queue a test worker reads, and drop the broker's unacknowledged
    messages (a killed worker's, which Redis would give back only after the visibility
    timeout: an hour by default, maybe into a later test)."""
    with celery_app.connection_for_write() as conn:
        channel = conn.default_channel
        for queue in QUEUES.split(","):
            channel.queue_purge(queue)
        client = getattr(channel, "client", None)
        if client is not None:  # Redis
            client.delete(channel.unacked_key, channel.unacked_index_key,
                          channel.unacked_mutex_key)


class WorkerProcess:
    kind = "worker"
    ready_text = "ready."

    def __init__(self, log_path: Path, extra_env: dict[str, str | None]):
        self.name = f"test-{uuid.uuid4().hex[:8]}@localhost"
        self.log_path = log_path
        self.log = open(log_path, "w")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "portal", *self.arguments()],
            cwd=ROOT, env=process_env(extra_env), stdout=self.log, stderr=subprocess.STDOUT,
        )

    def arguments(self) -> list[str]:
        return ["worker", "-Q", QUEUES, "--concurrency", "1", "--loglevel", "INFO",
                "-n", self.name, "--without-heartbeat", "--without-mingle", "--without-gossip"]

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.kind} exited early:\n{self.log_path.read_text()}")
            if self.ready_text in self.log_path.read_text():
                return
            time.sleep(0.2)
        raise TimeoutError(f"{self.kind} not ready:\n{self.log_path.read_text()}")

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


class BeatProcess(WorkerProcess):
    """`celery beat`, as deployed beside the workers (its schedule file, named after it, in
    the test's folder)."""

    kind = "beat"
    ready_text = "beat: Starting"

    def arguments(self) -> list[str]:
        schedule = self.log_path.parent / f"{self.name}.schedule"
        return ["beat", "--loglevel", "INFO", "--schedule", str(schedule)]


def wait_for(predicate, timeout: float = 60, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError("condition not met in time")


class Starter:
    """Starts real worker (or beat) processes of one test, and stops them after it."""

    def __init__(self, tmp_path: Path):
        self.tmp_path = tmp_path
        self.processes: list[WorkerProcess] = []

    def __call__(self, kind: type[WorkerProcess] = WorkerProcess, **extra_env: str | None
                 ) -> WorkerProcess:
        """``None`` for a variable: unset, so the process runs with its default."""
        process = kind(self.tmp_path / f"{kind.kind}-{len(self.processes)}.log", extra_env)
        self.processes.append(process)
        process.wait_ready()
        return process

    def stop_all(self) -> None:
        for process in self.processes:
            process.stop()
        for process in self.processes:  # shown by pytest when the test failed
            print(f"--- {process.log_path.name} ---\n{process.log_path.read_text()[-4000:]}")


@pytest.fixture
def start_worker(tmp_path):
    """Start real worker processes (``start_worker(VAR=value, ...)``); each is stopped after
    the test, and the broker forgets what they left."""
    broker_or_skip()
    forget_broker_state()
    starter = Starter(tmp_path)
    yield starter
    starter.stop_all()
    forget_broker_state()


@pytest.fixture
def start_beat(start_worker):
    """Start a real `celery beat` process, as deployed (exactly one), stopped with the
    workers."""
    return lambda **extra_env: start_worker(BeatProcess, **extra_env)


# A worker and beat with the deployed defaults of everything that decides how soon a job
# whose worker died resumes (whatever this test process was started with, e.g. by CI).
DEFAULT_RESUMING = {name: None for name in (
    "CELERY_VISIBILITY_TIMEOUT", "CELERY_RESTORE_INTERVAL", "JOB_HEARTBEAT_SECONDS",
    "JOB_HEARTBEAT_STALE_SECONDS", "JOB_REQUEUE_SECONDS")}


def follow_status(client, url: str, done, timeout: float, interval: float = 0.25
                  ) -> tuple[dict, list[str]]:
    """Poll a job's status.json, as its page does, until ``done(answer)``; the last answer
    and every distinct status text shown on the way, in order."""
    deadline = time.monotonic() + timeout
    shown: list[str] = []
    while True:
        answer = client.get(url).json()
        if not shown or shown[-1] != answer["status_display"]:
            shown.append(answer["status_display"])
        if done(answer):
            return answer, shown
        if time.monotonic() > deadline:
            raise TimeoutError(f"not done after {timeout} s; shown: {shown}")
        time.sleep(interval)
