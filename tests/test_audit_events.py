"""Each kind of event writes its audit record, with who, what, where and outcome."""

import pytest
from django.test import Client
from django.urls import reverse

from agencies import actions
from agencies.roles import Role
from audit.models import AccessEvent
from tests.factories import UserFactory


def last(action):
    return AccessEvent.objects.filter(action=action).order_by("-seq").first()


def test_a_login_is_recorded_with_address_agent_and_request_id(world, password):
    Client(HTTP_USER_AGENT="TestBrowser/1.0", REMOTE_ADDR="203.0.113.9").post(
        "/accounts/login/", {"username": "anna", "password": password})
    event = last("auth.login")
    assert (event.actor_name, event.source_ip, event.user_agent) == (
        "anna", "203.0.113.9", "TestBrowser/1.0")
    assert len(event.request_id) == 32


def test_a_failed_login_and_a_lockout_are_recorded(world):
    for _ in range(5):
        Client().post("/accounts/login/", {"username": "anna", "password": "wrong"})
    failed = AccessEvent.objects.filter(action="auth.login_failed", outcome="denied")
    assert failed.count() == 5
    assert failed.first().details == {"username": "anna"}
    assert last("auth.lockout").details == {"username": "anna"}


def test_a_logout_is_recorded(world):
    client = world.client_for("anna")
    client.post(reverse("logout"))
    assert last("auth.logout").actor_name == "anna"


def test_membership_changes_are_recorded(world):
    erin = UserFactory(username="erin")
    membership = actions.do_add_member(world.alpha, erin, Role.VIEWER, acting_user=world.alice)
    actions.do_change_role(membership, Role.ANALYST, acting_user=world.alice)
    actions.do_remove_member(membership, acting_user=world.alice)
    add, change, remove = (last(a) for a in
                           ["membership.add", "membership.role_change", "membership.remove"])
    assert (add.actor_name, add.actor_role, add.agency_slug) == ("alice", "admin", "alpha")
    assert add.details == {"user": "erin", "role": "viewer"}
    assert change.details == {"user": "erin", "role": "analyst", "previous_role": "viewer"}
    assert remove.object_id == str(membership.pk)


def test_settings_changes_are_recorded_with_the_fields(world):
    actions.do_update_agency_settings(world.alpha, {"cell_size_m": 200, "name": "Alpha Police"},
                                      acting_user=world.alice)
    assert last("agency.settings_change").details == {"fields": ["cell_size_m"]}


def test_board_grants_are_recorded(world):
    actions.do_revoke_board(world.board, world.alpha, acting_user=None)
    event = last("board.revoke")
    assert (event.agency_slug, event.actor_role, event.details) == (
        "alpha", "system", {"board": "alpha-board"})


@pytest.mark.parametrize(("who", "url", "status", "reason"), [
    ("bob", "/a/alpha/", 404, "not a member"),
    ("victor", "/a/alpha/members/", 403, "needs role admin"),
])
def test_denied_attempts_are_recorded(world, who, url, status, reason):
    response = world.client_for(who).get(url)
    assert response.status_code == status
    event = last("access.denied")
    assert (event.actor_name, event.agency_slug, event.outcome) == (who, "alpha", "denied")
    assert event.details == {"path": url, "method": "GET", "status": status, "reason": reason}


def test_a_denied_post_is_recorded_even_though_nothing_changed(world):
    url = reverse("agency-member-role", args=["alpha", world.membership("victor").pk])
    world.client_for("anna").post(url, {"role": "admin"})
    assert world.membership("victor").role == Role.VIEWER
    assert last("access.denied").details["method"] == "POST"


def test_the_client_address_honours_only_trusted_proxies(world, password, settings):
    spoofed = {"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": "198.51.100.7, 192.0.2.1"}
    Client(**spoofed).post("/accounts/login/", {"username": "anna", "password": password})
    assert last("auth.login").source_ip == "10.0.0.2"  # no proxy trusted: header ignored
    settings.TRUSTED_PROXY_COUNT = 1
    Client(**spoofed).post("/accounts/login/", {"username": "anna", "password": password})
    assert last("auth.login").source_ip == "192.0.2.1"  # what our one proxy saw


def test_an_action_outside_the_enumeration_is_refused(world):
    import audit

    with pytest.raises(ValueError, match="not a valid Action"):
        audit.record(action="forecast.peek", actor=world.anna, agency=world.alpha)
    assert not AccessEvent.objects.filter(action="forecast.peek").exists()


def test_the_oversight_page_names_each_action_in_words(world):
    import audit

    audit.record(action="forecast.view", actor=world.anna, actor_role="analyst",
                 agency=world.alpha, object_type="forecast", object_id=1, purpose="patrol")
    html = world.client_for("carol").get(reverse("oversight-home")).content.decode()
    assert 'title="forecast.view">Opened a forecast map</td>' in html
