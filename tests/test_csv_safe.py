"""CSV cells a spreadsheet cannot run as formulas; numbers stay numbers."""

import pytest

from common.csv_safe import csv_text, safe_cell


@pytest.mark.parametrize("text", ["=1+1", "+1", "-1+cmd|' /C calc'!A0", "@SUM(A1)", "\t=1",
                                  "-1"])
def test_it_quotes_text_a_spreadsheet_would_evaluate(text):
    assert safe_cell(text) == "'" + text


@pytest.mark.parametrize(("value", "cell"), [(-1, "-1"), (-0.25, "-0.25"), (3, "3"),
                                             (True, "True"), (None, "")])
def test_it_writes_numbers_as_numbers(value, cell):
    assert safe_cell(value) == cell


def test_a_whole_file_quotes_text_and_keeps_numbers():
    assert csv_text(["a", "b"], [["-x", -2]]) == "a,b\r\n'-x,-2\r\n"
