"""CSV cells a spreadsheet cannot run as formulas, whatever separator it splits on;
numbers stay numbers."""

import csv
import io
import re
from decimal import Decimal

import pytest

from common.csv_safe import FORMULA_PREFIXES, csv_text, safe_cell, stream_rows

ATTACKS = [
    "x;=cmd|'/C calc'!A0",
    "x,=1+1",
    "x\t@SUM(A1)",
    "x|+1",
    "x; -2+3+cmd|' /C calc'!A0",
    'x;"=HYPERLINK(""http://evil"")"',
    "x\n=1+1",
    "x\r\n=1+1",
    "x\r=1+1",
    "x;\t=1",
    "=1+1;=2+2,=3+3",
]
READER_SEPARATORS = [",", ";", "\t", "|"]


def pieces(text: str, separator: str) -> list[str]:
    """Every cell a spreadsheet splitting ``text`` on ``separator`` could see: with quotes
    honoured (Python's csv reader) and with quotes ignored (a plain split of each line)."""
    found = [cell for row in csv.reader(io.StringIO(text, newline=""), delimiter=separator)
             for cell in row]
    for line in re.split(r"\r\n|\r|\n", text):
        found += line.split(separator)
    return found


def is_number(piece: str) -> bool:
    try:
        float(piece)
    except ValueError:
        return False
    return True


def evaluated(piece: str) -> bool:
    """Whether a spreadsheet could take ``piece`` as a formula (spaces and quotes trimmed;
    a bare number is a number)."""
    core = piece.lstrip(' "')
    return core.startswith(FORMULA_PREFIXES) and not is_number(core.rstrip(' "'))


@pytest.mark.parametrize("text", ["=1+1", "+1", "-1+cmd|' /C calc'!A0", "@SUM(A1)", "-1",
                                  "\tx", "\r1", ' "=1+1"'])
def test_it_quotes_text_a_spreadsheet_would_evaluate(text):
    assert safe_cell(text) == "'" + text


@pytest.mark.parametrize(("value", "cell"), [(-1, "-1"), (-0.25, "-0.25"), (3, "3"),
                                             (Decimal("-1.5"), "-1.5"), (True, "True"),
                                             (None, "")])
def test_it_writes_numbers_as_numbers(value, cell):
    assert safe_cell(value) == cell


def test_it_quotes_every_text_cell_and_leaves_numbers_bare():
    written = csv_text(["a", "b", "c", "d", "e", "f"],
                       [["-x", -2, 0.5, Decimal("-1.5"), None, True]])
    assert written == '"a","b","c","d","e","f"\r\n"\'-x",-2,0.5,-1.5,"","True"\r\n'


@pytest.mark.parametrize("separator", [",", ";", "\t", "|", "\r", "\n"])
def test_it_neutralises_a_formula_right_after_a_separator(separator):
    text = f"x{separator}=cmd|'/C calc'!A0"
    assert safe_cell(text) == f"x{separator}'=cmd|'/C calc'!A0"


@pytest.mark.parametrize(("text", "cell"), [("x; =1+1", "x;' =1+1"),
                                            ('x;"=1+1"', "x;'\"=1+1\""),
                                            ('x; " @A1', "x;' \" @A1")])
def test_it_neutralises_a_formula_behind_spaces_or_quotes_after_a_separator(text, cell):
    assert safe_cell(text) == cell


@pytest.mark.parametrize(("text", "cell"), [("\t=1", "'\t'=1"), ("x;\t@A1", "x;'\t'@A1"),
                                            ("x\r\n=1", "x\r\n'=1")])
def test_it_neutralises_each_piece_of_a_run_of_separators(text, cell):
    assert safe_cell(text) == cell


@pytest.mark.parametrize("text", ["LARCENY-FROM, VEHICLE", "2024-05-01T08:15:00+00:00",
                                  "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0",
                                  "a=b;c@d|e+f", "'=already text"])
def test_it_leaves_text_without_a_formula_piece_unchanged(text):
    assert safe_cell(text) == text


@pytest.mark.parametrize("separator", READER_SEPARATORS)
def test_it_holds_whatever_separator_the_reader_splits_on(separator):
    # given a file with hostile text around every separator, and negative numbers
    written = csv_text(["note", "value"], [[attack, -2] for attack in ATTACKS])
    assert any(evaluated(p) for a in ATTACKS for p in pieces(a, separator)), "hostile input"

    # when a spreadsheet splits it on the separator (quotes honoured or not)
    cells = pieces(written, separator)

    # then no cell it sees is a formula
    assert [p for p in cells if evaluated(p)] == []


def test_it_streams_the_same_lines_as_the_whole_text():
    rows = [[attack, -2, None] for attack in ATTACKS]
    assert "".join(stream_rows(["a", "b", "c"], rows)) == csv_text(["a", "b", "c"], rows)
