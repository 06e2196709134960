"""Text decoding for uploads: UTF-8 (BOM stripped), falling back to cp1252/latin-1.

Decoding streams: bytes that are not valid UTF-8 are decoded as cp1252 (bytes cp1252 leaves
undefined as latin-1). For a pure latin-1/cp1252 file this gives exactly the cp1252 reading;
for a UTF-8 file nothing changes. The number of fallback decodes is reported per file.

Damage that would otherwise pass silently refuses the file: a NUL byte anywhere (binary
data; PostgreSQL cannot store it) and a quote that is never closed (the lenient CSV reader
would read the rest of the file as one field). The field delimiter (comma, tab or
semicolon) is taken from the header line.
"""

from __future__ import annotations

import codecs
import csv
import io
import threading
from collections.abc import Iterator, Sequence
from itertools import chain, islice
from typing import IO, BinaryIO, cast

from .errors import IngestRefused

FALLBACK_ERRORS = "predictions-ingest-cp1252"
DELIMITERS = (",", "\t", ";")  # on a tie the first wins: comma stays the default
CHUNK_SIZE = 1 << 16  # bytes the text layer reads at a time (its default: 8 KiB)
SNIFF_LINES = 20  # the header and the lines after it that choose the delimiter
END = "\x00"  # the reader's last line: NUL bytes in the data are refused, so only this one
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


def sniff_delimiter(head: bytes) -> str:
    """The delimiter that splits the header line (the first line of ``head``) into several
    fields and the next few lines into as many (quotes respected); comma when none does.

    Of those, the one that fits the most lines wins, then the one giving more fields, then
    the first of :data:`DELIMITERS`. (Delimiters and quotes are ASCII: any bytes of a UTF-8
    or cp1252 file decode as latin-1 here.)
    """
    lines = list(islice(io.StringIO(head.decode("latin-1"), newline=""), SNIFF_LINES))
    if len(lines) > 1 and not lines[-1].endswith(("\n", "\r")):
        lines.pop()  # cut short by the end of ``head``
    best, score = ",", (-1, 1)
    for delimiter in DELIMITERS:
        try:
            header, *rest = csv.reader(lines or [""], delimiter=delimiter)
        except csv.Error:  # (a line over the field size limit): the reader will say so
            continue
        fits = (sum(len(r) == len(header) for r in rest), len(header))
        if len(header) > 1 and fits > score:
            best, score = delimiter, fits
    return best


class _NulGuard(io.BufferedIOBase):
    """Passes a binary stream through to the text layer and refuses a NUL byte.

    Costs one ``find`` per chunk. To name the NUL's line without counting lines, the bytes
    before the NUL are handed on first; the refusal comes on the next read, which the text
    layer makes only once the CSV reader wants the line holding the NUL.
    """

    def __init__(self, inner: IO[bytes], source: str) -> None:
        self._inner = inner
        self._read1 = getattr(inner, "read1", inner.read)
        self._source = source
        self._cr = False  # the bytes handed on so far end with CR (a CR-only line end)
        self._nul = False
        self.reader: Iterator[list[str]] | None = None  # its line count names the line

    def readable(self) -> bool:
        return True

    def read1(self, size: int = -1) -> bytes:
        return self._checked(self._read1(size))

    def read(self, size: int | None = -1) -> bytes:
        return self._checked(self._inner.read(-1 if size is None else size))

    def close(self) -> None:
        if not self.closed:
            self._inner.close()
        super().close()

    def _checked(self, data: bytes) -> bytes:
        if self._nul:
            self._refuse()
        at = data.find(b"\x00")
        if at < 0:
            self._cr = data[-1:] == b"\r"
            return data
        self._nul = True
        if at == 0:
            self._refuse()
        self._cr = data[at - 1 : at] == b"\r"
        return data[:at]

    def _refuse(self) -> None:
        # The text layer holds back a trailing CR (it may start a CRLF): the line it ends
        # is still being asked for, and the NUL is on the next one.
        taken = getattr(self.reader, "line_num", 0)
        line = taken + 1 + self._cr
        msg = f"NUL byte on line {line}: binary data or a damaged file, not CSV text"
        raise IngestRefused("unreadable", msg, self._source)


class TextSource:
    """A decoded, CSV-ready view of a binary stream."""

    def __init__(self, binary: IO[bytes], name: str) -> None:
        self.name = name
        head = binary.peek(1 << 16) if hasattr(binary, "peek") else b""
        if head.startswith((b"\xff\xfe", b"\xfe\xff")):
            raise IngestRefused("unreadable", "UTF-16 text is not supported; save as UTF-8", name)
        if b"\x00" in head[:4096]:
            raise IngestRefused("unreadable", "binary file, not CSV text", name)
        self.delimiter = sniff_delimiter(head)
        self._start = fallback_count()
        self._guard = _NulGuard(binary, name)
        self.text = io.TextIOWrapper(
            cast(BinaryIO, self._guard), encoding="utf-8-sig", errors=FALLBACK_ERRORS, newline=""
        )
        self.text._CHUNK_SIZE = CHUNK_SIZE  # type: ignore[attr-defined]

    @property
    def encoding(self) -> str:
        return "cp1252" if fallback_count() > self._start else "utf-8"

    def rows(self) -> Iterator[list[str]]:
        """A ``csv.reader`` over the text (callers turn ``csv.Error`` into a refusal), whose
        last row is the end marker: check the last row read with :func:`is_end`.

        (A hand-rolled split of quote-free lines was measured: no faster than the C
        reader once the per-line Python work is counted.)
        """
        reader = csv.reader(chain(self.text, (END,)), delimiter=self.delimiter)
        self._guard.reader = reader
        return reader


def is_end(row: Sequence[str], rows: Iterator[list[str]], source: str) -> bool:
    """Whether ``row`` is the end marker of :meth:`TextSource.rows` (drop it).

    The marker is a line of its own; a quote left open swallows it into the last field
    instead (the lenient reader saves an unfinished field at the end): then the file is
    refused, naming the line where that field's quote opened.
    """
    if not row or not row[-1].endswith(END):
        return False
    if len(row) == 1 and row[0] == END:
        return True
    field = row[-1][: -len(END)]
    breaks = field.count("\n") + field.count("\r") - field.count("\r\n")
    # lines the field spans: one per line break, plus the marker's own line when the
    # last line of the file had no line break of its own
    spans = breaks + (0 if field.endswith(("\n", "\r")) else 1)
    line = getattr(rows, "line_num", 0) - spans
    msg = (
        f"unclosed quote starting near line {line}: the rest of the file would be read as"
        " one field (close the quote or remove it)"
    )
    raise IngestRefused("unreadable", msg, source)
