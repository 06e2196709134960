"""CSV output that spreadsheets cannot run as formulas (OWASP CSV injection), whatever
separator the reader splits on.

The rule, in two layers:

1. **Text is quoted, numbers are not.** Every text cell (anything but ``int``, ``float``
   or ``Decimal``; ``bool`` and ``None`` are text) is written between double quotes
   (``csv.QUOTE_NONNUMERIC``); numbers are written bare so a spreadsheet keeps them
   numbers (a negative number is data, never a formula). A reader that splits on the
   comma and honours quotes sees each text cell whole.

2. **Every place a cell can be cut is neutralised.** A reader that splits on another
   character (``;`` in many European locales, TAB, ``|``) or that ignores quotes cuts a
   text cell at that character, and at a line break, and each piece becomes a cell of
   its own; a quoted comma-separated line also loses its quoting in such a reader. So a
   piece may start at the start of the text or right after any of ``,`` ``;`` TAB ``|``
   CR LF (:data:`SEPARATORS`). When a piece, once the spaces and double quotes a reader
   may drop are skipped, starts with a formula trigger (``=`` ``+`` ``-`` ``@`` TAB CR,
   :data:`FORMULA_PREFIXES`), a ``'`` is inserted where the piece starts (before the
   text, or right after the separator): ``x;=cmd|'/C calc'!A0`` is written
   ``"x;'=cmd|'/C calc'!A0"``. A piece starting with ``'`` is text in every spreadsheet,
   whichever way the line is split.

The cost is an apostrophe inside a few text cells (``a, -1`` becomes ``a,' -1``); it
only ever appears before a formula trigger, so a reader can strip it when needed. Every
CSV the portal writes goes through this module (:func:`writer`, :func:`write_rows`,
:func:`csv_text`, :func:`stream_rows`).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import Any, TextIO

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
SEPARATORS = (",", ";", "\t", "|", "\r", "\n")  # where a reader may cut a cell
_SKIPPED = ' "'  # a reader may trim spaces and drop quotes before judging a piece

# The start of every piece that (past spaces and quotes) begins with a formula trigger.
_PIECE = re.compile(
    "(?:^|(?<=[{sep}]))(?=[{skip}]*[{trig}])".format(
        sep=re.escape("".join(SEPARATORS)),
        skip=re.escape(_SKIPPED),
        trig=re.escape("".join(FORMULA_PREFIXES)),
    )
)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def safe_cell(value: object) -> str:
    """The value as text, with a ``'`` before every piece a spreadsheet could evaluate."""
    if _is_number(value):
        return str(value)  # a number (a negative one too) is data, never a formula
    text = "" if value is None else str(value)
    # (the characters of FORMULA_PREFIXES, spelled out: the fastest test)
    if "=" in text or "+" in text or "-" in text or "@" in text or "\t" in text or "\r" in text:
        return _PIECE.sub("'", text)
    return text  # no trigger anywhere (most cells): nothing to neutralise, skip the regex


def _cell(value: object) -> Any:
    """What the writer gets: a number as is (written bare), anything else as safe text
    (written quoted)."""
    return value if _is_number(value) else safe_cell(value)


class SafeWriter:
    """A ``csv.writer`` lookalike (``writerow``/``writerows``) applying the module's rule."""

    def __init__(self, stream: Any) -> None:
        self._writer = csv.writer(stream, quoting=csv.QUOTE_NONNUMERIC)

    def writerow(self, row: Iterable[object]) -> Any:
        return self._writer.writerow([_cell(cell) for cell in row])

    def writerows(self, rows: Iterable[Iterable[object]]) -> None:
        for row in rows:
            self.writerow(row)


def writer(stream: Any) -> SafeWriter:
    """A formula-safe CSV writer on ``stream`` (open it with ``newline=""``)."""
    return SafeWriter(stream)


def write_rows(stream: TextIO, header: Iterable[str], rows: Iterable[Iterable[object]]) -> None:
    out = writer(stream)
    out.writerow(header)
    out.writerows(rows)


def csv_text(header: Iterable[str], rows: Iterable[Iterable[object]]) -> str:
    buffer = io.StringIO()
    write_rows(buffer, header, rows)
    return buffer.getvalue()


class _Echo:
    """A file-like object whose write returns the line, for streaming responses."""

    def write(self, value: str) -> str:
        return value


def stream_rows(header: Iterable[str], rows: Iterable[Iterable[object]]) -> Iterator[str]:
    """CSV lines one by one (for StreamingHttpResponse), formula-safe."""
    out = writer(_Echo())
    yield out.writerow(header)
    for row in rows:
        yield out.writerow(row)
