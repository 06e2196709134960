"""A bounded schemathesis run over every operation of the API schema (`make api-fuzz`).

    python tests/schemathesis_run.py [--examples N] [--seed N] [--time-limit SECONDS]

Starts the portal (gunicorn, as deployed) against a fresh database seeded with the demo
world (an agency with imported incidents, a trained model, its forecast and a published
public map: `manage.py seed_demo`), creates an API token for the demo analyst, and runs
schemathesis with every check (per-operation settings: tests/schemathesis.toml), a fixed
seed and a bounded number of examples per operation:

1. with the analyst's token, over every operation (the public API included);
2. with a bad token, over the operations that need one: each must answer the documented 401.

Training and imports started by the run are only queued: the broker (a Redis database of
its own, flushed before and after) has no worker, so a POST .../train/ costs one row.
Exits non-zero when either run reports a failure or an error, or exceeds the time limit.

Environment: FUZZ_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/portal_fuzz;
the database is dropped and created), FUZZ_BROKER_URL (default redis://127.0.0.1:6379/14),
FUZZ_PORT (default 8741).
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
CONFIG = Path(__file__).with_name("schemathesis.toml")
BAD_TOKEN = "0" * 40
OUTPUT: list[str] = []  # each schemathesis run's output


def log(message: str) -> None:
    print(f"\n== {message}", flush=True)


def fresh_database(url: str) -> None:
    """Drop and create the database of a postgres:// URL (a sqlite file is just removed)."""
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        Path(parts.path.lstrip("/") if parts.netloc else parts.path).unlink(missing_ok=True)
        return
    name = parts.path.lstrip("/")
    if not re.fullmatch(r"\w+", name):
        raise SystemExit(f"unexpected database name {name!r}")
    import psycopg

    with psycopg.connect(url.replace(parts.path, "/postgres", 1), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')


def flush_broker(url: str) -> None:
    import redis

    redis.Redis.from_url(url).flushdb()


def manage(env: dict, *args: str) -> str:
    done = subprocess.run([str(BIN / "python"), "manage.py", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, check=False)
    if done.returncode:
        sys.stdout.write(done.stdout + done.stderr)
        raise SystemExit(f"manage.py {args[0]} failed")
    return done.stdout


def wait_for(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        if time.monotonic() > deadline:
            raise SystemExit(f"the portal did not answer {url}")
        time.sleep(0.5)


def schemathesis(label: str, schema: Path, base_url: str, token: str, args, workdir: Path,
                 deadline: float, extra: list[str]) -> tuple[int, str]:
    command = [
        # every built-in check runs by default in schemathesis 4 (`--checks all` would also
        # override the per-operation settings of the config file)
        str(BIN / "schemathesis"), "--config-file", str(CONFIG),
        "run", str(schema), "--url", base_url,
        "--header", f"Authorization: Token {token}",
        "--seed", str(args.seed),
        "--max-examples", str(args.examples),
        "--workers", "1",  # CPython 3.11's parser is not thread-safe under hypothesis
        "--request-timeout", "30",
        "--generation-database", "none",
        "--no-color",
        *extra,
    ]
    log(f"schemathesis, {label}")
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        return 1, "time limit reached before this run"
    try:
        done = subprocess.run(command, cwd=workdir, capture_output=True, text=True,
                              timeout=remaining, check=False)
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        sys.stdout.write(out)
        return 1, f"time limit of {args.time_limit} s exceeded"
    sys.stdout.write(done.stdout + done.stderr)
    sys.stdout.flush()
    OUTPUT.append(done.stdout)
    return done.returncode, summary(done.stdout)


def refused_everywhere(output: str) -> bool:
    """Whether schemathesis saw only 401/403 on every operation it tested (bad token)."""
    tested = re.search(r"Tested:\s+(\d+)", output)
    refused = re.search(r"Authentication failed: (\d+) operations? returned only 401/403", output)
    return bool(tested and refused and tested.group(1) == refused.group(1))


def summary(output: str) -> str:
    """The run's figures: operations tested, test cases generated, failures."""
    tested = re.search(r"Tested:\s+(\d+)", output)
    cases = re.search(r"(\d+) generated", output)
    final = [line.strip(" =") for line in output.splitlines()
             if re.match(r"=+ .* in [\d.]+s", line)]
    return (f"{tested.group(1) if tested else '?'} operations, "
            f"{cases.group(1) if cases else '?'} test cases; {final[-1] if final else '?'}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=50, help="examples per operation")
    parser.add_argument("--seed", type=int, default=19)
    parser.add_argument("--time-limit", type=int, default=900,
                        help="seconds for both schemathesis runs together")
    args = parser.parse_args()
    started = time.monotonic()

    database = os.environ.get("FUZZ_DATABASE_URL",
                              "postgres://postgres@127.0.0.1:5432/portal_fuzz")
    broker = os.environ.get("FUZZ_BROKER_URL", "redis://127.0.0.1:6379/14")
    port = int(os.environ.get("FUZZ_PORT", "8741"))
    base_url = f"http://127.0.0.1:{port}"
    workdir = Path(tempfile.mkdtemp(prefix="portal-fuzz-"))
    env = {
        **os.environ,
        "DATABASE_URL": database,
        "CELERY_BROKER_URL": broker,
        "VAR_DIR": str(workdir / "var"),
        "SECRET_KEY": os.environ.get("SECRET_KEY") or secrets.token_urlsafe(40),
        "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1",
        # the run's own request rate is not what it tests (429s are documented)
        "API_RATE": "100000/minute",
        "PUBLIC_API_RATE_PER_MINUTE": "100000",
    }
    server = None
    try:
        log(f"fresh database {urlsplit(database).path.lstrip('/')}, seeded demo world")
        fresh_database(database)
        flush_broker(broker)
        manage(env, "migrate", "--noinput", "-v", "0")
        manage(env, "seed_demo", "--password", secrets.token_urlsafe(12))
        token = manage(env, "shell", "-c", (
            "from django.contrib.auth import get_user_model\n"
            "from agencies.tokens import issue_token\n"
            "user = get_user_model().objects.get(username='demo-analyst')\n"
            "print('TOKEN', issue_token(user, 'schemathesis')[1])\n"))
        key = re.search(r"^TOKEN (\w+)$", token, re.M).group(1)  # type: ignore[union-attr]

        log(f"portal on {base_url} (seeded in {time.monotonic() - started:.0f} s)")
        server = subprocess.Popen(
            [str(BIN / "gunicorn"), "portal.wsgi", "--bind", f"127.0.0.1:{port}",
             "--workers", "2", "--timeout", "60", "--log-level", "warning",
             # the request-line limit (414) is the front server's, not the API's to document
             "--limit-request-line", "0"],
            cwd=ROOT, env=env, start_new_session=True)
        schema_url = f"{base_url}/api/schema/?format=json"
        wait_for(schema_url)
        # fetched once, without a token (a bad one is refused everywhere, this too)
        schema = workdir / "openapi.json"
        with urllib.request.urlopen(schema_url, timeout=30) as response:
            schema.write_bytes(response.read())

        deadline = time.monotonic() + args.time_limit
        label = "valid token, every operation"
        results = [(label, *schemathesis(label, schema, base_url, key, args, workdir,
                                         deadline, []))]
        label = "bad token, operations needing one"
        code, figures = schemathesis(label, schema, base_url, BAD_TOKEN, args, workdir,
                                     deadline, ["--exclude-path-regex", "^/api/v1/public/"])
        if code == 0 and not refused_everywhere(OUTPUT[-1]):
            code, figures = 1, f"{figures}; a bad token was not refused everywhere"
        results.append((label, code, figures))
    finally:
        if server is not None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
        try:
            flush_broker(broker)
        except Exception as exc:  # noqa: BLE001 - cleaning up; the run's outcome stands
            print(f"could not flush {broker}: {exc}")
        shutil.rmtree(workdir, ignore_errors=True)

    log(f"schemathesis figures ({time.monotonic() - started:.0f} s in all)")
    for label, code, figures in results:
        print(f"  {'ok  ' if code == 0 else 'FAIL'} {label}: {figures}")
    return 0 if all(code == 0 for _, code, _ in results) else 1


if __name__ == "__main__":
    sys.exit(main())
