"""CSV output that spreadsheets cannot run as formulas (OWASP CSV injection)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    """The value as text, with a leading quote when a spreadsheet would treat it as a formula."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)  # a number (a negative one too) is data, never a formula
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_PREFIXES):
        return "'" + text
    return text


def write_rows(stream, header: Iterable[str], rows: Iterable[Iterable[object]]) -> None:
    writer = csv.writer(stream)
    writer.writerow([safe_cell(h) for h in header])
    for row in rows:
        writer.writerow([safe_cell(cell) for cell in row])


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
    writer = csv.writer(_Echo())
    yield writer.writerow([safe_cell(h) for h in header])
    for row in rows:
        yield writer.writerow([safe_cell(cell) for cell in row])
