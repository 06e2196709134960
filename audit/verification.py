"""Recompute the hash chain and check it against signed checkpoints."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from django.db import connection

from audit.chain import GENESIS_HASH, HASHED_FIELDS, extend_digest, link_hash_list
from audit.models import AccessEvent

BATCH = 20_000
PARALLEL_MIN_EVENTS = 200_000


COLUMNS = (*HASHED_FIELDS, "prev_hash", "hash")
SEQ, DETAILS = 0, HASHED_FIELDS.index("details")
ACTOR, AGENCY, ACTION = (HASHED_FIELDS.index(name) for name in ("actor_id", "agency_id", "action"))
OBJECT_TYPE, OBJECT_ID = HASHED_FIELDS.index("object_type"), HASHED_FIELDS.index("object_id")
PREV, HASH = len(HASHED_FIELDS), len(HASHED_FIELDS) + 1
# The time as text, never as a datetime object (formatting those costs more than hashing):
# PostgreSQL writes the canonical form itself, SQLite gives back what it stored.
AT_AS_TEXT = {
    "postgresql": """to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')""",
    "sqlite": "CAST(at AS TEXT)",
}


def _select() -> str:
    at = AT_AS_TEXT.get(connection.vendor, "at")
    columns = [at if c == "at" else c for c in COLUMNS]
    return (f"SELECT {', '.join(columns)} FROM {AccessEvent._meta.db_table} "
            "WHERE seq > %s ORDER BY seq LIMIT %s")


@dataclass
class ChainReport:
    ok: bool
    count: int
    head_hash: str
    first_bad_seq: int | None = None
    problem: str = ""
    # seq -> hash of every verified event, kept only for the seqs asked for
    hashes_at: dict[int, str] | None = None


def _rows(first: int = 1, last: int | None = None) -> Iterator[Sequence]:
    """Raw rows (COLUMNS order) with first <= seq <= last, in sequence order, a batch at a
    time: no model instances or field converters, since verification reads millions."""
    after, select = first - 1, _select()
    with connection.cursor() as cursor:
        while True:
            cursor.execute(select, [after, BATCH])
            batch = cursor.fetchall()
            for row in batch:
                if last is not None and row[SEQ] > last:
                    return
                yield row
            if len(batch) < BATCH:
                return
            after = batch[-1][SEQ]


rows = _rows


def _values(row: Sequence) -> list:
    """A fresh list of the hashed values (the details parsed where stored as text)."""
    values = list(row[:PREV])
    if isinstance(values[DETAILS], str):  # SQLite keeps JSON as text
        values[DETAILS] = json.loads(values[DETAILS])
    return values


@dataclass
class RangeResult:
    """The check of events first..last on their own; the caller links ranges together."""

    ok: bool
    count: int
    first_prev: str | None
    last_hash: str | None
    first_bad_seq: int | None = None
    problem: str = ""
    kept: dict[int, str] = field(default_factory=dict)


def _verify_range(rows: Iterable[Sequence], first: int, last: int | None,
                  keep: set[int]) -> RangeResult:
    expected, prev, first_prev, count, kept = first, None, None, 0, {}
    for row in rows:
        seq = row[SEQ]
        if seq != expected:
            return RangeResult(False, count, first_prev, prev, expected,
                               f"sequence number {expected} is missing (found {seq})")
        if prev is None:
            first_prev = prev = row[PREV]
        elif row[PREV] != prev:
            return RangeResult(False, count, first_prev, prev, seq,
                               f"event {seq} does not link to the event before it")
        if link_hash_list(prev, _values(row)) != row[HASH]:
            return RangeResult(False, count, first_prev, prev, seq,
                               f"event {seq} was altered (its hash does not match)")
        prev, expected, count = row[HASH], expected + 1, count + 1
        if seq in keep:
            kept[seq] = prev
    if last is not None and expected <= last:
        return RangeResult(False, count, first_prev, prev, expected,
                           f"sequence number {expected} is missing")
    return RangeResult(True, count, first_prev, prev, kept=kept)


def _verify_range_job(args: tuple[int, int, set[int]]) -> RangeResult:
    first, last, keep = args
    try:
        return _verify_range(_rows(first, last), first, last, keep)
    finally:
        connection.close()


def verify_chain(rows: Iterable[Sequence] | None = None, keep_hashes_at: set[int] | None = None,
                 jobs: int = 1) -> ChainReport:
    """Walk the log in sequence order and name the first event that is missing, reordered,
    inserted, edited or wrongly linked. With jobs > 1, ranges of the log are hashed in
    parallel processes and then linked end to end, which finds the same first fault."""
    keep = keep_hashes_at or set()
    if rows is not None or jobs <= 1:
        ranges = [_verify_range(rows if rows is not None else _rows(), 1, None, keep)]
    else:
        ranges = _parallel_ranges(jobs, keep)
    prev_hash, count = GENESIS_HASH, 0
    kept: dict[int, str] = {}
    for result in ranges:
        if result.count and result.first_prev != prev_hash:
            first_seq = count + 1
            return ChainReport(False, count, prev_hash, first_seq,
                               f"event {first_seq} does not link to the event before it")
        if not result.ok:
            return ChainReport(False, count + result.count, result.last_hash or prev_hash,
                               result.first_bad_seq, result.problem)
        count += result.count
        prev_hash = result.last_hash or prev_hash
        kept |= result.kept
    return ChainReport(True, count, prev_hash, hashes_at=kept)


def _parallel_ranges(jobs: int, keep: set[int]) -> list[RangeResult]:
    from multiprocessing import get_context

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT MAX(seq) FROM {AccessEvent._meta.db_table}")
        top = cursor.fetchone()[0] or 0
    if top < PARALLEL_MIN_EVENTS:
        return [_verify_range(_rows(), 1, None, keep)]
    step = -(-top // jobs)
    bounds = [(lo, min(lo + step - 1, top), keep) for lo in range(1, top + 1, step)]
    connection.close()  # each process opens its own connection
    with get_context("fork").Pool(jobs) as pool:
        return pool.map(_verify_range_job, bounds)


class ChainBroken(Exception):
    def __init__(self, seq: int, problem: str):
        super().__init__(f"record {seq}: {problem}")
        self.seq, self.problem = seq, problem


def digest_range(base_seq: int, base_hash: str, base_digest: str, last: int) -> tuple[str, str]:
    """Verify records base_seq+1..last as a continuation of (base_hash, base_digest) and
    return (hash of record `last`, records digest at `last`); ChainBroken names the first
    record that is missing, unlinked or altered. What a checkpoint is signed over."""
    prev, digest, expected = base_hash, base_digest, base_seq + 1
    for row in _rows(base_seq + 1, last):
        seq = row[SEQ]
        if seq != expected:
            raise ChainBroken(expected, f"missing (found {seq})")
        if row[PREV] != prev:
            raise ChainBroken(seq, "does not link to the record before it")
        if link_hash_list(prev, _values(row)) != row[HASH]:
            raise ChainBroken(seq, "altered (its hash does not match)")
        digest = extend_digest(digest, row[HASH], row[AGENCY], row[ACTOR], row[ACTION])
        prev, expected = row[HASH], expected + 1
    if expected <= last:
        raise ChainBroken(expected, "missing")
    return prev, digest
