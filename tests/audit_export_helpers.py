"""Helpers for the verifiable-export tests: download a range as a board member, run the
standalone verifier as a separate process with Django (and the portal) unimportable."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from django.urls import reverse

ROOT = Path(__file__).resolve().parents[1]
VERIFIER = ROOT / "audit" / "verifier.py"
# `python -I FILE` (no script directory, no user site, no PYTHONPATH) with the portal's
# packages made unimportable: the file must stand on its own
_STANDALONE = ("import runpy, sys\n"
               "for name in ('django', 'audit', 'agencies', 'oversight', 'portal'):\n"
               "    sys.modules[name] = None\n"
               "sys.argv = sys.argv[1:]\n"
               "runpy.run_path(sys.argv[0], run_name='__main__')\n")


def run_standalone(*args, cwd: Path | None = None) -> tuple[int, str]:
    """(exit status, output) of `python verifier.py ARGS` in a clean environment."""
    env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp")}
    done = subprocess.run([sys.executable, "-I", "-c", _STANDALONE, str(VERIFIER),
                           *map(str, args)], capture_output=True, text=True, env=env,
                          cwd=cwd or Path("/"), timeout=60, check=False)
    return done.returncode, (done.stdout + done.stderr).strip()


def download(client, tmp_path: Path, name: str = "export.jsonl", **params) -> Path:
    """A verifiable range as the client's board member downloads it."""
    response = client.get(reverse("oversight-export-jsonl"), params)
    assert response.status_code == 200, response.content
    path = tmp_path / name
    path.write_bytes(b"".join(response.streaming_content))
    return path


def save_checkpoints(client, tmp_path: Path, name: str = "saved.json") -> Path:
    """What a board keeps: a copy of the published checkpoints.json."""
    path = tmp_path / name
    path.write_text(json.dumps(client.get(reverse("audit-checkpoints")).json()))
    return path


def lines_of(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def write_lines(path: Path, lines: list[dict]) -> Path:
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def names_record(message: str, seq: int) -> bool:
    """Does a FAIL message name record `seq` (itself, or a range of records holding it)?"""
    if re.search(rf"\brecord {seq}\b", message):
        return True
    return any(int(a) <= seq <= int(b) for a, b in re.findall(r"records (\d+)\.\.(\d+)", message))
