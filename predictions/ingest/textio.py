"""Text decoding for uploads: UTF-8 (BOM stripped), falling back to cp1252/latin-1.

Decoding streams: bytes that are not valid UTF-8 are decoded as cp1252 (bytes cp1252 leaves
undefined as latin-1). For a pure latin-1/cp1252 file this gives exactly the cp1252 reading;
for a UTF-8 file nothing changes. The number of fallback decodes is reported per file.
"""

from __future__ import annotations

import codecs
import csv
import io
import threading
from collections.abc import Iterator
from typing import BinaryIO

from .errors import IngestRefused

FALLBACK_ERRORS = "predictions-ingest-cp1252"
_state = threading.local()


def _decode_byte(byte: bytes) -> str:
    try:
        return byte.decode("cp1252")
    except UnicodeDecodeError:
        return byte.decode("latin-1")


def _fallback(exc: UnicodeError) -> tuple[str, int]:
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    bad = exc.object[exc.start : exc.end]
    _state.fallbacks = getattr(_state, "fallbacks", 0) + 1
    return "".join(_decode_byte(bad[i : i + 1]) for i in range(len(bad))), exc.end


codecs.register_error(FALLBACK_ERRORS, _fallback)


def fallback_count() -> int:
    """Fallback decodes so far in this thread (compare before/after reading a file)."""
    return getattr(_state, "fallbacks", 0)


class TextSource:
    """A decoded, CSV-ready view of a binary stream."""

    def __init__(self, binary: BinaryIO, name: str) -> None:
        self.name = name
        head = binary.peek(4096)[:4096] if hasattr(binary, "peek") else b""
        if head.startswith((b"\xff\xfe", b"\xfe\xff")):
            raise IngestRefused("unreadable", "UTF-16 text is not supported; save as UTF-8", name)
        if b"\x00" in head:
            raise IngestRefused("unreadable", "binary file, not CSV text", name)
        self._start = fallback_count()
        self.text = io.TextIOWrapper(
            binary, encoding="utf-8-sig", errors=FALLBACK_ERRORS, newline=""
        )

    @property
    def encoding(self) -> str:
        return "cp1252" if fallback_count() > self._start else "utf-8"

    def rows(self) -> Iterator[list[str]]:
        """A ``csv.reader`` over the text (callers turn ``csv.Error`` into a refusal).

        (A hand-rolled split of quote-free lines was measured: no faster than the C
        reader once the per-line Python work is counted.)
        """
        return csv.reader(self.text)
