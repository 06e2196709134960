#!/usr/bin/env python3
"""Verify an export of the crime-prediction portal's audit trail, on your own machine.

    python verifier.py EXPORT.jsonl [--checkpoints SAVED.json ...] [--public-key KEY.pem]
    python -m audit.verifier EXPORT.jsonl ...          (from a checkout of the portal)

Needs Python 3.11+ and the `cryptography` package (pip install cryptography), nothing of the
portal. It prints "OK ..." and exits 0, or prints "FAIL at record N: ..." naming the first
bad record and exits 1 (2: the file cannot be read as an export).

This file is also the portal's one definition of the hash chain: `audit.chain` imports it.

The hash chain
--------------
    hash_n = SHA-256( prev_hash_n as 64 ASCII hex characters || canonical_n )

canonical_n is the UTF-8 JSON array of the HASHED_FIELDS values in that order, with no
whitespace and no ASCII escaping, `at` as ISO 8601 UTC with microseconds
("2026-01-05T08:30:00.000000Z") and `details` as an object with sorted keys. The first
record's previous hash is 64 zeros. Each record's prev_hash must equal the hash of the record
before it.

Signed checkpoints
------------------
The portal signs (seq, head_hash, records_digest, at) with its Ed25519 key, at least every
few minutes or every N records, and with every export. records_digest commits to every
record's hash and agency up to seq (d_0 = 64 zeros):

    d_n = SHA-256( d_(n-1) as 64 ASCII hex characters || JSON [hash_n, agency_id_n, a, b] )

with a, b = null, "" for a record of an agency and actor_id_n, action_n for one without.
An export shows a board only the records of the agencies it oversees; the others are
withheld (seq, links, hash and agency only). The digest is what lets a board check that no
withheld record was altered to hide a change of a record it does see, or moved to another
agency.

The export (JSON Lines)
-----------------------
A "header" line (range, public key, the agencies shown), the "checkpoint" lines signed within
the range, one "record" or "withheld" line per record of the contiguous range, and an "end"
line with the count. The range starts just after a signed checkpoint (or at record 1) and
ends at one, so every record in it is covered by a signature.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

GENESIS_HASH = "0" * 64

HASHED_FIELDS = (
    "seq", "at", "actor_id", "actor_name", "actor_role", "agency_id", "agency_slug", "action",
    "object_type", "object_id", "purpose", "purpose_note", "outcome", "source_ip",
    "user_agent", "request_id", "details",
)
AT = HASHED_FIELDS.index("at")
_ENCODER = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
)

CHECKPOINT_CONTEXT_V1 = "crime-portal-audit-checkpoint-v1"
CHECKPOINT_CONTEXT = "crime-portal-audit-checkpoint-v2"
EXPORT_FORMAT = "crime-portal-audit-export-v1"


# --- the hash chain -------------------------------------------------------------------------

def format_time(value: datetime | str) -> str:
    """ISO 8601 UTC with microseconds. Accepts an aware datetime, or time text read straight
    from the database (fast paths for the canonical form and SQLite's naive UTC text)."""
    if isinstance(value, str):
        if value.endswith("Z"):  # already canonical (formatted by the database)
            return value
        if len(value) == 26 and value[10] == " ":  # SQLite: "YYYY-MM-DD HH:MM:SS.ffffff"
            return value.replace(" ", "T", 1) + "Z"
        if len(value) == 19 and value[10] == " ":  # SQLite, whole seconds
            return value.replace(" ", "T", 1) + ".000000Z"
        value = datetime.fromisoformat(value)
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def link_hash_values(prev_hash: str, values: Sequence) -> str:
    return link_hash_list(prev_hash, list(values))


def link_hash_list(prev_hash: str, values: list) -> str:
    """As link_hash_values, for a fresh list it may change (the verifiers' hot path)."""
    values[AT] = format_time(values[AT])
    digest = hashlib.sha256(prev_hash.encode("ascii"))
    digest.update(_ENCODER.encode(values).encode("utf-8"))
    return digest.hexdigest()


def link_hash(prev_hash: str, fields: dict) -> str:
    """The hash of a record given as a dict with (at least) the HASHED_FIELDS."""
    return link_hash_values(prev_hash, [fields[name] for name in HASHED_FIELDS])


def extend_digest(digest: str, record_hash: str, agency_id: int | None, actor_id: int | None,
                  action: str) -> str:
    """records_digest after one more record (see the module's docstring)."""
    entry = ([record_hash, agency_id, None, ""] if agency_id is not None
             else [record_hash, None, actor_id, action])
    step = hashlib.sha256(digest.encode("ascii"))
    step.update(_ENCODER.encode(entry).encode("utf-8"))
    return step.hexdigest()


# --- checkpoint signatures --------------------------------------------------------------------

def checkpoint_message(seq: int, head_hash: str, at: str, records_digest: str = "") -> bytes:
    """The signed bytes: version 2 with a records digest, version 1 (older ones) without."""
    if records_digest:
        return (f"{CHECKPOINT_CONTEXT}\n{seq}\n{head_hash}\n{records_digest}\n{at}"
                .encode("ascii"))
    return f"{CHECKPOINT_CONTEXT_V1}\n{seq}\n{head_hash}\n{at}".encode("ascii")


def entry_message(entry: dict) -> bytes:
    return checkpoint_message(int(entry["seq"]), str(entry["head_hash"]), str(entry["at"]),
                              str(entry.get("records_digest") or ""))


def load_public_key(pem: str):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    key = serialization.load_pem_public_key(pem.encode("ascii"))
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("not an Ed25519 public key")
    return key


def key_id(public_key) -> str:
    from cryptography.hazmat.primitives import serialization

    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def signature_valid(entry: dict, public_key) -> bool:
    from cryptography.exceptions import InvalidSignature

    try:
        public_key.verify(base64.b64decode(entry["signature"], validate=True),
                          entry_message(entry))
    except (InvalidSignature, ValueError, KeyError, TypeError):
        return False
    return True


def load_checkpoints_document(text: str) -> tuple[str, list[dict]]:
    """A saved checkpoints.json (as published, or as mailed to boards): (key PEM, entries)."""
    document = json.loads(text)
    return str(document["public_key_pem"]), list(document["checkpoints"])


# --- verifying an export ----------------------------------------------------------------------

class Failure(Exception):
    def __init__(self, seq: int | None, problem: str):
        super().__init__(problem)
        self.seq, self.problem = seq, problem


@dataclass
class Result:
    ok: bool
    problem: str = ""
    seq: int | None = None
    first: int = 0
    last: int = 0
    records: int = 0
    withheld: int = 0
    checkpoints: int = 0
    key_id: str = ""
    notes: list[str] = field(default_factory=list)

    def line(self) -> str:
        if not self.ok:
            where = f" at record {self.seq}" if self.seq is not None else ""
            return f"FAIL{where}: {self.problem}"
        shown = self.records - self.withheld
        text = (f"OK records {self.first}..{self.last}: {self.records} linked, {shown} shown "
                f"and hashed, {self.withheld} of other agencies withheld; "
                f"{self.checkpoints} signed checkpoints checked, key {self.key_id}")
        return "\n".join([text, *self.notes])


def _int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise Failure(None, f"{what} is not a whole number")
    return value


@dataclass
class _Held:
    """A checkpoint the board holds (or the export lists), checked against the records."""

    entry: dict
    listed: bool  # in the export itself


class _Walk:
    def __init__(self, header: dict, public_key, held: list[dict]):
        self.first = _int(header.get("first_seq"), "the header's first_seq")
        self.last = _int(header.get("last_seq"), "the header's last_seq")
        if not 1 <= self.first <= self.last:
            raise Failure(None, f"the header's range {self.first}..{self.last} is empty")
        self.granted = {a for a in header.get("agency_ids", []) if isinstance(a, int)}
        self.public_key = public_key
        self.key_id = key_id(public_key)
        self.listed: dict[int, list[dict]] = {}
        self.held: dict[int, list[dict]] = {}
        for entry in held:
            self.held.setdefault(_int(entry.get("seq"), "a saved checkpoint's seq"), []).append(
                entry)
        self.expected = self.first
        self.prev: str | None = None
        self.digest: str | None = None
        self.withheld = 0
        self.covered_to = self.first - 1  # the last record a checkpoint matched

    def checkpoint(self, entry: dict) -> None:
        seq = _int(entry.get("seq"), "a checkpoint's seq")
        if self.prev is not None:
            raise Failure(seq, "a checkpoint line comes after the records (not an export)")
        if entry.get("key_id") != self.key_id or not signature_valid(entry, self.public_key):
            raise Failure(seq, f"the checkpoint listed at record {seq} is not validly signed "
                               f"by key {self.key_id}")
        self.listed.setdefault(seq, []).append(entry)

    def _start(self) -> None:
        if self.first == 1:
            self.prev = self.digest = GENESIS_HASH
            self._match(0, GENESIS_HASH, GENESIS_HASH)
            return
        anchors = [e for e in self.listed.get(self.first - 1, []) if e.get("records_digest")]
        if not anchors:
            raise Failure(self.first, f"the export does not begin just after a signed "
                                      f"checkpoint (none at record {self.first - 1})")
        self.prev, self.digest = str(anchors[0]["head_hash"]), str(anchors[0]["records_digest"])
        self._match(self.first - 1, self.prev, self.digest)

    def _match(self, seq: int, head_hash: str, digest: str) -> None:
        """Every checkpoint signed at `seq`, listed or held, must match the records."""
        listed = self.listed.get(seq, [])
        for entry in listed + self.held.get(seq, []):
            if entry["head_hash"] != head_hash:
                raise Failure(seq, f"record {seq} does not match the checkpoint signed there at "
                                   f"{entry.get('at')} (the history was rewritten)")
            if entry.get("records_digest") and entry["records_digest"] != digest:
                raise Failure(seq, f"records {self.covered_to + 1}..{seq} do not match the "
                                   f"checkpoint signed at record {seq}: a record's hash or "
                                   "agency was changed since it was signed")
        signatures = {e.get("signature") for e in listed}
        for entry in self.held.get(seq, []):
            if entry.get("signature") not in signatures:
                raise Failure(seq, f"the checkpoint signed at record {seq} at {entry.get('at')}"
                                   ", which you hold, is missing from the portal's list (its "
                                   "row was deleted)")
        if any(e.get("records_digest") for e in listed):
            self.covered_to = max(self.covered_to, seq)

    def record(self, line: dict, withheld: bool) -> None:
        if self.prev is None:
            self._start()
        prev, digest = self.prev, self.digest
        assert prev is not None and digest is not None
        seq = _int(line.get("seq"), f"the seq of the line after record {self.expected - 1}")
        if seq != self.expected:
            if seq > self.expected:
                raise Failure(self.expected, f"record {self.expected} is missing (the next "
                                             f"line is record {seq})")
            raise Failure(seq, f"record {seq} is out of order or repeated (expected record "
                               f"{self.expected})")
        if line.get("prev_hash") != prev:
            raise Failure(seq, f"record {seq} does not link to the record before it (its "
                               "prev_hash is not that record's hash)")
        record_hash = line.get("hash")
        if not isinstance(record_hash, str) or len(record_hash) != 64:
            raise Failure(seq, f"record {seq} has no valid hash")
        if withheld:
            agency_id = line.get("agency_id")
            actor_id, action = ((line.get("actor_id"), str(line.get("action", "")))
                                if agency_id is None else (None, ""))
            if agency_id in self.granted:
                raise Failure(seq, f"record {seq} belongs to agency {agency_id}, which you "
                                   "oversee, but its content was withheld")
            self.withheld += 1
        else:
            missing = [name for name in HASHED_FIELDS if name not in line]
            if missing:
                raise Failure(seq, f"record {seq} lacks the hashed field(s) {', '.join(missing)}")
            try:
                computed = link_hash_list(prev, [line[name] for name in HASHED_FIELDS])
            except (TypeError, ValueError) as exc:
                raise Failure(seq, f"record {seq} cannot be hashed: {exc}") from exc
            if computed != record_hash:
                raise Failure(seq, f"record {seq} was altered: its fields do not match its "
                                   "hash")
            agency_id, actor_id, action = line["agency_id"], line["actor_id"], line["action"]
        self.digest = extend_digest(digest, record_hash, agency_id, actor_id, action)
        self.prev = record_hash
        self._match(seq, record_hash, self.digest)
        self.expected += 1

    def finish(self, end: dict | None, header: dict) -> None:
        if self.prev is None:
            self._start()
        if self.expected <= self.last:
            raise Failure(self.expected, f"record {self.expected} is missing: the export says "
                                         f"it runs to record {self.last}")
        if end is None:
            raise Failure(None, "the export is incomplete (it has no end line)")
        if end.get("records") != self.last - self.first + 1:
            raise Failure(None, "the end line's count does not match the records")
        if self.covered_to < self.last:
            raise Failure(self.covered_to + 1,
                          f"records {self.covered_to + 1}..{self.last} are not covered by a "
                          "signed checkpoint")
        exported_at = str(header.get("exported_at", ""))
        for seq, entries in self.held.items():
            for entry in entries:
                if (seq > self.last and header.get("to_head")
                        and str(entry.get("at", "")) <= exported_at):
                    raise Failure(self.last + 1, f"the trail ended at record {self.last} when "
                                  f"it was exported, but the checkpoint you hold signed at "
                                  f"{entry.get('at')} covers record {seq}: records were "
                                  "removed from the end")


def _parse(text: str, number: int) -> dict:
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise Failure(None, f"line {number} is not JSON: {exc}") from exc
    if not isinstance(value, dict) or not isinstance(value.get("type"), str):
        raise Failure(None, f"line {number} is not an export line")
    return value


def verify_export(lines: Iterable[str], saved: Sequence[tuple[str, list[dict]]] = (),
                  public_key_pem: str | None = None) -> Result:
    """Check an export (its lines, in order) against the checkpoints saved by the board
    ((key PEM, entries) per saved document) and, if given, the public key it holds."""
    result = Result(ok=False)
    try:
        numbered = ((n, text) for n, text in enumerate(lines, 1) if text.strip())
        first = next(numbered, None)
        if first is None:
            raise Failure(None, "the export is empty")
        header = _parse(first[1], first[0])
        if header.get("type") != "header" or header.get("format") != EXPORT_FORMAT:
            raise Failure(None, f"not an audit export (the first line is no {EXPORT_FORMAT} "
                                "header)")
        try:
            public_key = load_public_key(str(header.get("public_key_pem", "")))
        except ValueError as exc:
            raise Failure(None, f"the export's public key cannot be read: {exc}") from exc
        result.key_id = key_id(public_key)
        held: list[dict] = []
        for pem in [p for p in [public_key_pem] if p] + [pem for pem, _ in saved]:
            try:
                theirs = key_id(load_public_key(pem))
            except ValueError as exc:
                raise Failure(None, f"a key you hold cannot be read: {exc}") from exc
            if theirs != result.key_id:
                raise Failure(None, f"the export is signed by key {result.key_id}, not by the "
                                    f"key you hold ({theirs})")
        for _pem, entries in saved:
            for entry in entries:
                if not signature_valid(entry, public_key):
                    raise Failure(None, f"the checkpoint you hold at record {entry.get('seq')}"
                                        " is not validly signed")
                held.append(entry)
        walk = _Walk(header, public_key, held)
        end = None
        for number, text in numbered:
            if end is not None:
                raise Failure(None, f"line {number} comes after the end line")
            line = _parse(text, number)
            kind = line["type"]
            if kind == "checkpoint":
                walk.checkpoint(line)
            elif kind in ("record", "withheld"):
                walk.record(line, withheld=kind == "withheld")
            elif kind == "end":
                end = line
            else:
                raise Failure(None, f"line {number} has an unknown type {kind!r}")
        walk.finish(end, header)
    except Failure as failure:
        result.problem, result.seq = failure.problem, failure.seq
        return result
    except (KeyError, TypeError, AttributeError) as exc:  # a line of the wrong shape
        result.problem = f"a line is malformed ({type(exc).__name__}: {exc})"
        return result
    result.ok = True
    result.first, result.last = walk.first, walk.last
    result.records, result.withheld = walk.last - walk.first + 1, walk.withheld
    result.checkpoints = sum(len(v) for v in walk.listed.values())
    outside = [s for s in walk.held if not walk.first - 1 <= s <= walk.last]
    if outside:
        result.notes.append(f"{sum(len(walk.held[s]) for s in outside)} checkpoint(s) you hold "
                            "lie outside this range and were checked only for their signature")
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="verifier.py",
        description="Verify an export (JSON Lines) of the portal's audit trail: links, hashes "
                    "and signed checkpoints. Exit 0 OK, 1 FAIL, 2 unreadable input.")
    parser.add_argument("export", help="the downloaded .jsonl file")
    parser.add_argument("--checkpoints", action="append", default=[], metavar="FILE",
                        help="a checkpoints.json you saved or received by mail (repeatable)")
    parser.add_argument("--public-key", metavar="PEM",
                        help="the portal's public key as your board holds it")
    args = parser.parse_args(argv)
    try:
        saved = [load_checkpoints_document(Path(path).read_text(encoding="utf-8"))
                 for path in args.checkpoints]
        public_pem = (Path(args.public_key).read_text(encoding="ascii") if args.public_key
                      else None)
        with open(args.export, encoding="utf-8") as lines:
            result = verify_export(lines, saved, public_pem)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        return 2
    print(result.line())
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
