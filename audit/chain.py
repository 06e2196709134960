"""The hash chain: canonical encoding of an event and its SHA-256 link to the previous one.

    hash_n = SHA-256( prev_hash_n as 64 ASCII hex characters || canonical_n )

canonical_n is the UTF-8 JSON array of the HASHED_FIELDS values in that order, with no
whitespace, `at` as ISO 8601 UTC with microseconds ("2026-01-05T08:30:00.000000Z") and
`details` as an object with sorted keys. The genesis previous hash is 64 zeros.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import UTC, datetime

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
    """As link_hash_values, for a fresh list it may change (the verifier's hot path)."""
    values[AT] = format_time(values[AT])
    digest = hashlib.sha256(prev_hash.encode("ascii"))
    digest.update(_ENCODER.encode(values).encode("utf-8"))
    return digest.hexdigest()


def link_hash(prev_hash: str, fields: dict) -> str:
    """The hash of an event given as a dict with (at least) the HASHED_FIELDS."""
    return link_hash_values(prev_hash, [fields[name] for name in HASHED_FIELDS])
