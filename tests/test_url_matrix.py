"""Every URL of the project, requested by every kind of user.

The matrix must name every URL pattern; a new URL without a row fails
`test_every_url_pattern_is_in_the_matrix`. Tenant URLs point at agency A ("alpha"):
bob (agency B) must get 404 on all of them, never 403 and never data.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

ROLES = ["anonymous", "dave", "carol", "bob", "victor", "anna", "alice"]
LOGIN = "login"  # redirected to the sign-in page


@dataclass
class Case:
    expect: dict[str, int | str]
    method: str = "get"
    kwargs: Callable = field(default=lambda w: {})
    data: Callable = field(default=lambda w: {})


def tenant(viewer: int | str, analyst: int | str, admin: int | str) -> dict[str, int | str]:
    """Expectations for a URL of agency A: outsiders and other agencies get 404."""
    return {"anonymous": LOGIN, "dave": 404, "carol": 404, "bob": 404,
            "victor": viewer, "anna": analyst, "alice": admin}


def api_tenant(viewer: int | str, analyst: int | str, admin: int | str) -> dict[str, int | str]:
    """Like `tenant`, for the API: anonymous callers get 401 rather than a login page."""
    return {**tenant(viewer, analyst, admin), "anonymous": 401}


def everyone(status: int | str, anonymous: int | str | None = None) -> dict[str, int | str]:
    expect = dict.fromkeys(ROLES, status)
    if anonymous is not None:
        expect["anonymous"] = anonymous
    return expect


ALPHA = lambda w: {"slug": "alpha"}  # noqa: E731
VICTOR_MEMBERSHIP = lambda w: {"slug": "alpha", "membership_id": w.membership("victor").pk}  # noqa: E731

def ALPHA_DATASET(w):  # noqa: N802 - reads as a constant in the table
    return {"slug": "alpha", "dataset_id": w.dataset.pk}


def ALPHA_FORECAST(w):  # noqa: N802
    return {"slug": "alpha", "forecast_id": w.forecast.pk}


def ALPHA_LAYER(w):  # noqa: N802 - agency A's synthetic tracts
    from predictions.demo import seed_tracts

    return {"slug": "alpha", "layer_id": seed_tracts(w.alpha, w.anna).pk}


def ALPHA_LAYER_UPLOAD(w):  # noqa: N802 - the upload that became agency A's tracts
    from predictions.demo import seed_tracts

    return {"slug": "alpha", "upload_id": seed_tracts(w.alpha, w.anna).uploads.get().pk}


def ALPHA_MODEL(w):  # noqa: N802
    return {"slug": "alpha", "model_id": w.forecast.model_id}


def ALPHA_KNOX_RUN(w):  # noqa: N802 - a finished near-repeat analysis of agency A
    from tests.workbench_samples import done_knox_run

    return {"slug": "alpha", "run_id": done_knox_run(w.alpha, w.anna).pk}


def ALPHA_COMPSTAT(w):  # noqa: N802 - a finished CompStat report of agency A
    from tests.workbench_samples import done_compstat

    return {"slug": "alpha", "report_id": done_compstat(w.alpha, w.anna).pk}


def governance(status: int = 200) -> dict[str, int | str]:
    """Members of A (any role) and carol's board, which A granted; nobody else."""
    return {**tenant(status, status, status), "carol": status}


def _invite(w):
    """A new pending invitation of agency A (each to its own address) and its link's token."""
    from agencies.models import Invitation
    from agencies.onboarding.actions import do_invite

    email = f"newcomer{Invitation.objects.count()}@example.org"
    return do_invite(w.alpha, email, "analyst", acting_user=w.alice)


def ALPHA_INVITATION(w):  # noqa: N802 - a pending invitation of agency A
    return {"slug": "alpha", "invitation_id": _invite(w)[0].pk}


def INVITATION_TOKEN(w):  # noqa: N802 - the link of a pending invitation of agency A
    return {"token": _invite(w)[1]}


def board_page(member: int | str) -> dict[str, int | str]:
    """A page of carol's board (alpha-board): its plain members get `member`, anyone else
    404 (its chairs and platform staff are tested in test_board_invitations)."""
    return {**everyone(404, anonymous=LOGIN), "carol": member}


BOARD = lambda w: {"slug": "alpha-board"}  # noqa: E731


def BOARD_INVITATION(w):  # noqa: N802 - a pending invitation to carol's board
    from agencies.onboarding.actions import do_invite_to_board

    invitation, _ = do_invite_to_board(w.board, f"juror{w.board.invitations.count()}@example.org",
                                       "board_member", acting_user=None)
    return {"slug": "alpha-board", "invitation_id": invitation.pk}


def ANNA_TOKEN(w):  # noqa: N802 - a new API token of anna's (agency A's analyst)
    from agencies.tokens import issue_token

    return {"token_id": issue_token(w.anna, "matrix")[0].pk}


def PUBLISHED(w):  # noqa: N802 - agency A with a published public map
    from tests.public_samples import publish_alpha

    return publish_alpha(w)


MATRIX: dict[str, Case] = {
    "home": Case(everyone(200)),
    "healthz": Case(everyone(200)),
    "login": Case(everyone(302, anonymous=200)),
    "logout": Case(everyone(302), method="post"),
    "oversight-home": Case(everyone(200, anonymous=LOGIN)),
    "password-change": Case(everyone(200, anonymous=LOGIN)),
    # Only carol's board holds a grant; everyone else has no trail to export.
    "oversight-export": Case({**everyone(404, anonymous=LOGIN), "carol": 200}),
    "transparency": Case(everyone(200), kwargs=ALPHA),
    "audit-checkpoints": Case(everyone(200)),
    "agency-workspace": Case(tenant(200, 200, 200), kwargs=ALPHA),
    "agency-members": Case(tenant(403, 403, 200), kwargs=ALPHA),
    "agency-settings": Case(tenant(403, 403, 200), kwargs=ALPHA),
    "agency-member-role": Case(
        tenant(403, 403, 302), method="post", kwargs=VICTOR_MEMBERSHIP,
        data=lambda w: {"role": "analyst"},
    ),
    "agency-member-remove": Case(tenant(403, 403, 302), method="post", kwargs=VICTOR_MEMBERSHIP),
    "datasets": Case(tenant(403, 200, 200), kwargs=ALPHA),
    "category-mapping": Case(tenant(403, 200, 200), kwargs=ALPHA),
    "dataset-detail": Case(tenant(403, 200, 200), kwargs=ALPHA_DATASET),
    "dataset-status": Case(tenant(403, 200, 200), kwargs=ALPHA_DATASET),
    "dataset-errors": Case(tenant(403, 200, 200), kwargs=ALPHA_DATASET),
    "dataset-delete": Case(tenant(403, 302, 302), method="post", kwargs=ALPHA_DATASET),
    "forecast-map": Case(tenant(200, 200, 200), kwargs=ALPHA),
    "forecast-models": Case(tenant(403, 200, 200), kwargs=ALPHA),
    "model-risk-factors": Case(tenant(403, 200, 200), kwargs=ALPHA_MODEL),
    "model-detail": Case(tenant(403, 200, 200), kwargs=ALPHA_MODEL),
    "model-train": Case(tenant(403, 302, 302), method="post",
                        kwargs=lambda w: {"slug": "alpha", "model_id": w.forecast.model_id}),
    "training-run": Case(tenant(403, 200, 200),
                         kwargs=lambda w: {"slug": "alpha", "run_id": w.forecast.run_id}),
    "training-run-status": Case(tenant(403, 200, 200),
                                kwargs=lambda w: {"slug": "alpha", "run_id": w.forecast.run_id}),
    # Prediction-bearing: without a stated purpose even members are refused (403).
    "forecast-cells": Case(tenant(403, 403, 403), kwargs=ALPHA_FORECAST),
    "forecast-cell": Case(tenant(403, 403, 403), kwargs=lambda w: {**ALPHA_FORECAST(w), "rank": 1}),
    # Incidents are for analysts: viewers are refused for their role, the others for want
    # of a stated purpose.
    "forecast-incidents": Case(tenant(403, 403, 403), kwargs=ALPHA_FORECAST),
    "forecast-search": Case(tenant(403, 403, 403), kwargs=ALPHA_FORECAST),
    "forecast-export": Case(tenant(403, 403, 403),
                            kwargs=lambda w: {**ALPHA_FORECAST(w), "fmt": "csv"}),
    "public-publishing": Case(tenant(403, 403, 200), kwargs=ALPHA),
    "public-publish-now": Case(tenant(403, 403, 302), method="post", kwargs=ALPHA),
    "layers": Case(tenant(403, 200, 200), kwargs=ALPHA),
    "layer-detail": Case(tenant(403, 200, 200), kwargs=ALPHA_LAYER),
    "layer-upload": Case(tenant(403, 200, 200), kwargs=ALPHA_LAYER_UPLOAD),
    "layer-delete": Case(tenant(403, 302, 302), method="post", kwargs=ALPHA_LAYER),
    # the names and outlines of a layer's areas: drawn on every member's forecast map
    "layer-outlines": Case(tenant(200, 200, 200), kwargs=ALPHA_LAYER),
    # Governance packs: no forecast in them; boards granted the agency read them too.
    "governance-index": Case(governance(), kwargs=ALPHA),
    "model-governance": Case(governance(), kwargs=ALPHA_MODEL),
    "model-governance-json": Case(governance(), kwargs=ALPHA_MODEL),
    # The analyst's workbench: counts by area and period, for analysts and admins.
    "workbench": Case(tenant(403, 200, 200), kwargs=ALPHA),
    "workbench-trends": Case(tenant(403, 200, 200), kwargs=ALPHA),
    "workbench-trends-csv": Case(tenant(403, 200, 200), kwargs=ALPHA),
    "workbench-outlook": Case(tenant(403, 200, 200), kwargs=ALPHA),
    "workbench-when": Case(tenant(403, 200, 200), kwargs=ALPHA),
    # The workbench's statistics: analysts and admins (aggregates only; reads recorded).
    "workbench-knox": Case(tenant(403, 200, 200), kwargs=ALPHA),
    "workbench-knox-run": Case(tenant(403, 200, 200), kwargs=ALPHA_KNOX_RUN),
    "workbench-knox-status": Case(tenant(403, 200, 200), kwargs=ALPHA_KNOX_RUN),
    "workbench-wdd": Case(tenant(403, 200, 200), kwargs=ALPHA),
    "workbench-compstat": Case(tenant(403, 200, 200), kwargs=ALPHA),
    "workbench-compstat-report": Case(tenant(403, 200, 200), kwargs=ALPHA_COMPSTAT),
    "workbench-compstat-pdf": Case(tenant(403, 200, 200), kwargs=ALPHA_COMPSTAT),
    "api-token": Case(everyone(200, anonymous=LOGIN)),
    # a token of anna's: only she revokes it on her own page (for anyone else it does not exist)
    "api-token-revoke": Case({**everyone(404, anonymous=LOGIN), "anna": 302}, method="post",
                             kwargs=ANNA_TOKEN),
    "agency-tokens": Case(tenant(403, 403, 200), kwargs=ALPHA),
    "agency-token-revoke": Case(tenant(403, 403, 302), method="post",
                                kwargs=lambda w: {"slug": "alpha", **ANNA_TOKEN(w)}),
    # Onboarding. Platform pages are for staff (nobody in the world; tests/test_onboarding*
    # cover staff): everyone else is refused.
    "platform-agencies": Case(everyone(403, anonymous=LOGIN)),
    "platform-agency-new": Case(everyone(403, anonymous=LOGIN)),
    "platform-agency": Case(everyone(403, anonymous=LOGIN), kwargs=ALPHA),
    "platform-invitation-resend": Case(everyone(403, anonymous=LOGIN), method="post",
                                       kwargs=ALPHA_INVITATION),
    "platform-invitation-revoke": Case(everyone(403, anonymous=LOGIN), method="post",
                                       kwargs=ALPHA_INVITATION),
    "platform-boards": Case(everyone(403, anonymous=LOGIN)),
    "board-members": Case(board_page(403), kwargs=BOARD),
    "board-invitation-resend": Case(board_page(403), method="post", kwargs=BOARD_INVITATION),
    "board-invitation-revoke": Case(board_page(403), method="post", kwargs=BOARD_INVITATION),
    "board-member-remove": Case(board_page(403), method="post",
                                kwargs=lambda w: {"slug": "alpha-board", "user_id": w.carol.pk}),
    "agency-invitations": Case(tenant(403, 403, 200), kwargs=ALPHA),
    "agency-invitation-resend": Case(tenant(403, 403, 302), method="post",
                                     kwargs=ALPHA_INVITATION),
    "agency-invitation-revoke": Case(tenant(403, 403, 302), method="post",
                                     kwargs=ALPHA_INVITATION),
    "agency-member-reset-factor": Case(tenant(403, 403, 302), method="post",
                                       kwargs=VICTOR_MEMBERSHIP),
    # The invitee's link: a page for whoever holds it (signed in as another account, it says so).
    "invitation-accept": Case(everyone(200), kwargs=INVITATION_TOKEN),
    # Second factor (nobody in the world has one; MFA_REQUIRED is off in tests): the setup
    # page for every account; the sign-in step and new recovery codes send them to set one.
    "mfa-setup": Case(everyone(200, anonymous=LOGIN)),
    "mfa-verify": Case(everyone(302, anonymous=LOGIN)),
    "mfa-recovery-codes": Case(everyone(302, anonymous=LOGIN), method="post"),
    # The API's description is public; it holds no data.
    "api-schema": Case(everyone(200)),
    "api-docs": Case(everyone(200)),
    # The API answers 401 to anonymous callers (no login redirect for machines).
    "api-agencies": Case(everyone(200, anonymous=401)),
    "api-datasets": Case(api_tenant(403, 200, 200), kwargs=ALPHA),
    "api-dataset": Case(api_tenant(403, 200, 200), kwargs=lambda w: {"slug": "alpha",
                                                                     "pk": w.dataset.pk}),
    "api-incidents": Case(api_tenant(403, 200, 200), kwargs=ALPHA),
    "api-models": Case(api_tenant(403, 200, 200), kwargs=ALPHA),
    "api-model-train": Case(api_tenant(403, 202, 202), method="post",
                            kwargs=lambda w: {"slug": "alpha", "pk": w.forecast.model_id}),
    "api-run": Case(api_tenant(403, 200, 200),
                    kwargs=lambda w: {"slug": "alpha", "pk": w.forecast.run_id}),
    "api-forecasts": Case(api_tenant(200, 200, 200), kwargs=ALPHA),
    "api-forecast-cells": Case(api_tenant(403, 403, 403),  # no purpose given
                               kwargs=lambda w: {"slug": "alpha", "pk": w.forecast.pk}),
    # Public map and API: no login, the same for everyone (published releases only).
    "public-index": Case(everyone(200), kwargs=lambda w: {} if PUBLISHED(w) else {}),
    "public-map": Case(everyone(200), kwargs=PUBLISHED),
    "public-method": Case(everyone(200), kwargs=PUBLISHED),
    "public-download": Case(everyone(200), kwargs=lambda w: {**PUBLISHED(w), "fmt": "csv"}),
    "public-api-agencies": Case(everyone(200), kwargs=lambda w: {} if PUBLISHED(w) else {}),
    "public-api-meta": Case(everyone(200), kwargs=PUBLISHED),
    "public-api-map": Case(everyone(200), kwargs=PUBLISHED),
    "public-api-trend": Case(everyone(200), kwargs=PUBLISHED),
    "public-api-places": Case(everyone(200), kwargs=PUBLISHED),
    # the board's verifiable export (board members only) and the standalone verifier (public)
    "oversight-export-jsonl": Case({**everyone(404, anonymous=LOGIN), "carol": 200}),
    "audit-verifier": Case(everyone(200)),
    "public-api-search": Case(everyone(200), kwargs=PUBLISHED),
    # every agency's scorecard, as its transparency page (published map or not)
    "public-api-scorecard": Case(everyone(200), kwargs=ALPHA),
    "public-api-month": Case(everyone(200), kwargs=lambda w: {**PUBLISHED(w), "month": "2024-02"}),
    # The admin namespace is one row: staff only (nobody in the world is staff).
    "admin:index": Case(everyone(302)),
}
# Namespaces covered by one row (their own access rule applies to every page in them).
COVERED_NAMESPACES = {"admin"}


def _pattern_names(resolver: URLResolver, namespace: str = "") -> set[str]:
    """Every URL name of the project, namespaced; unnamed patterns appear as such."""
    names = set()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            if entry.namespace in COVERED_NAMESPACES:
                continue
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            names |= _pattern_names(entry, inner)
        elif isinstance(entry, URLPattern):
            names.add(f"{namespace}{entry.name}" if entry.name else f"<unnamed {entry.pattern}>")
    return names


def test_every_url_pattern_is_in_the_matrix():
    names = _pattern_names(get_resolver())
    rows = {name for name in MATRIX if name.split(":")[0] not in COVERED_NAMESPACES}
    assert names - rows == set(), "URLs without a row in the role matrix"
    assert rows - names == set(), "rows for URLs that do not exist"


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("url_name", sorted(MATRIX))
def test_role_matrix(world, url_name, role):
    case = MATRIX[url_name]
    url = reverse(url_name, kwargs=case.kwargs(world))
    client = world.client_for(role)

    response = getattr(client, case.method)(url, case.data(world))

    expected = case.expect[role]
    if expected == LOGIN:
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))
    else:
        assert response.status_code == expected, f"{role} {case.method.upper()} {url}"
