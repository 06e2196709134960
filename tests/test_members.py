"""Member management by agency admins, and the membership notice task."""

from django.core import mail
from django.urls import reverse

from agencies.models import Membership
from agencies.roles import Role
from agencies.tasks import send_membership_notice
from tests.factories import UserFactory


def members_url(slug="alpha"):
    return reverse("agency-members", kwargs={"slug": slug})


def test_it_lists_members_for_admins(world):
    response = world.client_for("alice").get(members_url())
    assert response.status_code == 200
    for name in ["alice", "anna", "victor"]:
        assert name in response.content.decode()
    assert "bob" not in response.content.decode()


def test_it_adds_a_member_by_email_and_notifies_them(world, django_capture_on_commit_callbacks):
    # given an account with no membership
    erin = UserFactory(username="erin", email="erin@example.org")
    # when alice adds her as an analyst
    with django_capture_on_commit_callbacks(execute=True):
        response = world.client_for("alice").post(
            members_url(), {"user": "ERIN@example.org", "role": "analyst"}
        )
    # then she is a member and was told so once
    assert response.status_code == 302
    membership = Membership.objects.get(user=erin, agency=world.alpha)
    assert membership.role == Role.ANALYST
    assert membership.notified_at is not None
    assert len(mail.outbox) == 1
    assert "analyst role in Alpha Police" in mail.outbox[0].body


def test_it_refuses_an_unknown_user(world):
    response = world.client_for("alice").post(members_url(), {"user": "nobody", "role": "viewer"})
    assert response.status_code == 400
    assert "No single active account" in response.content.decode()


def test_it_refuses_a_duplicate_membership(world):
    response = world.client_for("alice").post(members_url(), {"user": "anna", "role": "viewer"})
    assert response.status_code == 400
    assert world.membership("anna").role == Role.ANALYST


def test_it_changes_a_role(world):
    url = reverse("agency-member-role", args=["alpha", world.membership("victor").pk])
    world.client_for("alice").post(url, {"role": "analyst"})
    assert world.membership("victor").role == Role.ANALYST


def test_it_refuses_an_unknown_role(world):
    url = reverse("agency-member-role", args=["alpha", world.membership("victor").pk])
    world.client_for("alice").post(url, {"role": "chief"})
    assert world.membership("victor").role == Role.VIEWER


def test_it_keeps_the_last_admin(world):
    url = reverse("agency-member-role", args=["alpha", world.membership("alice").pk])
    response = world.client_for("alice").post(url, {"role": "viewer"}, follow=True)
    assert world.membership("alice").role == Role.ADMIN
    assert "at least one admin" in response.content.decode()
    remove = reverse("agency-member-remove", args=["alpha", world.membership("alice").pk])
    world.client_for("alice").post(remove)
    assert Membership.objects.filter(user=world.alice).exists()


def test_it_removes_a_member(world):
    url = reverse("agency-member-remove", args=["alpha", world.membership("victor").pk])
    world.client_for("alice").post(url)
    assert not Membership.objects.filter(user=world.victor).exists()


def test_it_answers_404_for_a_membership_of_another_agency(world):
    # given bob administers bravo
    Membership.objects.filter(user=world.bob).update(role=Role.ADMIN)
    victor_row = world.membership("victor")
    # when he targets alpha's membership through bravo's URL
    url = reverse("agency-member-role", args=["bravo", victor_row.pk])
    response = world.client_for("bob").post(url, {"role": "admin"})
    # then it does not exist for him and nothing changed
    assert response.status_code == 404
    assert world.membership("victor").role == Role.VIEWER


def test_the_notice_task_runs_once_per_role(world):
    membership = world.membership("anna")
    assert send_membership_notice(membership.pk) == "sent"
    assert send_membership_notice(membership.pk) == "nothing to do"
    assert len(mail.outbox) == 1


def test_the_notice_task_ignores_a_deleted_membership(world):
    assert send_membership_notice(987654) == "nothing to do"
