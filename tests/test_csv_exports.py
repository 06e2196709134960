"""The exports a spreadsheet opens stay formula-safe whatever separator it splits on."""

import pytest
from django.urls import reverse
from test_csv_safe import evaluated, pieces

HOSTILE_AGENT = "x;=cmd|'/C calc'!A0"


@pytest.mark.parametrize("separator", [",", ";", "\t", "|"])
def test_it_neutralises_a_user_agent_planted_in_the_oversight_export(world, separator):
    # given another agency's member whose denied request carries a hostile User-Agent
    world.client_for("bob").get("/a/alpha/", HTTP_USER_AGENT=HOSTILE_AGENT)

    # when the board exports alpha's audit trail
    response = world.client_for("carol").get(reverse("oversight-export"))
    text = b"".join(response.streaming_content).decode()

    # then no cell a spreadsheet splitting on the separator sees is a formula (the agent
    # is kept, neutralised)
    assert [p for p in pieces(text, separator) if evaluated(p)] == []
    assert "x;'=cmd|'/C calc'!A0" in text
