"""The hash chain: canonical encoding of an event and its SHA-256 link to the previous one.

    hash_n = SHA-256( prev_hash_n as 64 ASCII hex characters || canonical_n )

The one definition lives in `audit/verifier.py`, the standalone file boards download and run
without the portal; this module only re-exports it for the portal's own code.
"""

from __future__ import annotations

from audit.verifier import (
    AT,
    GENESIS_HASH,
    HASHED_FIELDS,
    extend_digest,
    format_time,
    link_hash,
    link_hash_list,
    link_hash_values,
)

__all__ = ["AT", "GENESIS_HASH", "HASHED_FIELDS", "extend_digest", "format_time", "link_hash",
           "link_hash_list", "link_hash_values"]
