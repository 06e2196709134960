"""Text decoding for uploads: UTF-8 (BOM stripped), falling back to cp1252/latin-1.

Decoding streams: bytes that are not valid UTF-8 are decoded as cp1252 (bytes cp1252 leaves
undefined as latin-1). For a pure latin-1/cp1252 file this gives exactly the cp1252 reading;
for a UTF-8 file nothing changes. The number of fallback decodes is reported per file.

Damage that would otherwise pass silently refuses the file: a NUL byte anywhere (binary
data; PostgreSQL cannot store it), a quote that is never closed (the lenient CSV reader
would read the rest of the file as one field) and a quote closed only in a later record
(the rows in between would be read into one field and vanish; see :class:`Records`). The
field delimiter (comma, tab or semicolon) is taken from the header line.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import threading
from collections.abc import Iterator, Sequence
from itertools import chain, islice
from typing import IO, Any, BinaryIO, cast

from .errors import IngestRefused

FALLBACK_ERRORS = "predictions-ingest-cp1252"
DELIMITERS = (",", "\t", ";")  # on a tie the first wins: comma stays the default
CHUNK_SIZE = 1 << 16  # bytes the text layer reads at a time (its default: 8 KiB)
SNIFF_LINES = 20  # the header and the lines after it that choose the delimiter
END = "\x00"  # the reader's last line: NUL bytes in the data are refused, so only this one
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
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
        return Records(reader, self.name, self.delimiter)


def _breaks(text: str) -> int:
    """Line breaks in ``text`` (CRLF, CR or LF)."""
    return text.count("\n") + text.count("\r") - text.count("\r\n")


class Records:
    """The rows of a ``csv.reader`` (its ``line_num`` passes through), refusing a record
    that a stray quote has merged with the records after it.

    A quoted field may hold line breaks (a multi-line description): the reader then reads
    one record over several lines. But a quote opened in one record and left open is
    closed by the next quote in the file, in a later record, and every line in between is
    read into that one field: those records vanish without a rejection. A record read
    over several lines is therefore refused (code ``unreadable``, naming the line where
    the quote opened) when

    1. it has a different number of fields from the header (a one-line record like that
       stays a ``malformed_row`` rejection; a multi-line one would hide the rows it
       swallowed behind that one rejection), or
    2. one of its multi-line fields reads as the rest of a record, then whole records,
       then the start of another: the delimiters before its first line break and after
       its last add up to the header's fields less one, and every line in between is
       blank or holds exactly that many delimiters.

    Why (2) is exact: inside the open field a quote can only appear doubled, so the
    swallowed lines keep all their delimiters; when the merged record still has the
    header's number of fields, the quote opened and closed in the same column, and for
    well-formed rows the counts above hold exactly. A false alarm needs a quoted text
    whose line breaks split its delimiters just so; one-column files are not checked by
    (2). Every other multi-line record is a legitimate quoted field and is read as before.
    The check costs one comparison per record: only records that took more than one line
    are looked at.
    """

    def __init__(self, reader: Iterator[list[str]], source: str, delimiter: str = ",") -> None:
        self._reader = reader
        self._source = source
        self._delimiter = delimiter
        self._rows = self._checked()

    @property
    def line_num(self) -> int:
        return cast(int, getattr(self._reader, "line_num", 0))

    def __iter__(self) -> Iterator[list[str]]:
        return self._rows  # the generator itself: no Python call per row in islice

    def __next__(self) -> list[str]:
        return next(self._rows)

    def _checked(self) -> Iterator[list[str]]:
        reader: Any = self._reader  # a csv.reader: it has line_num
        for header in reader:
            yield header
            break
        else:
            return
        width = len(header)
        last = reader.line_num  # the line the previous record ended on
        for row in reader:
            line = reader.line_num
            if line - last > 1:
                self._check(row, last + 1, width)
            last = line
            yield row

    def _check(self, row: list[str], first: int, width: int) -> None:
        """Refuse ``row`` (read from line ``first`` on) if it merged several records."""
        if row and row[-1].endswith(END):
            return  # a quote never closed: is_end refuses the file
        opened = first
        for field in row:
            breaks = _breaks(field)
            if not breaks:
                continue
            if len(row) != width:
                why = f"{len(row)} fields where the header has {width}"
            elif width > 1 and self._holds_records(field, width):
                why = "its quoted field runs on into the rows after it"
            else:
                opened += breaks
                continue
            closed = opened + breaks
            msg = (
                f"quote opened on line {opened} is closed only on line {closed}: lines"
                f" {first}-{closed} would be read as one record ({why}); close the quote on"
                f" line {opened} or remove it"
            )
            raise IngestRefused("unreadable", msg, self._source)

    def _holds_records(self, field: str, width: int) -> bool:
        delimiter = self._delimiter
        lines = _LINE_BREAK.split(field)
        whole = width - 1
        if lines[0].count(delimiter) + lines[-1].count(delimiter) != whole:
            return False
        return all(not m.strip() or m.count(delimiter) == whole for m in lines[1:-1])


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
