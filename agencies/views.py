"""Pages of the agency workspace and the signed-in home."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from agencies import access, actions
from agencies.forms import AddMemberForm, AgencySettingsForm, RoleForm
from agencies.models import Agency, Membership
from agencies.onboarding import factors
from agencies.roles import Role


def home(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        public = Agency.objects.filter(publishes_public_map=True)
        return render(request, "agencies/landing.html", {"public_agencies": public})
    memberships = Membership.objects.filter(user=request.user).select_related("agency")
    return render(
        request,
        "agencies/home.html",
        {"memberships": memberships, "boards": access.boards_for_user(request)},
    )


@login_required
def workspace(request: HttpRequest, slug: str) -> HttpResponse:
    agency = access.get_agency_for_user(request, slug)
    return render(
        request,
        "agencies/workspace.html",
        {
            "agency": agency,
            "role": agency.member_role,
            "is_admin": agency.member_role == Role.ADMIN,
            "member_count": agency.memberships.count(),
        },
    )


@login_required
def members(request: HttpRequest, slug: str) -> HttpResponse:
    agency = access.get_agency_for_user(request, slug, min_role=Role.ADMIN)
    form = AddMemberForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            actions.do_add_member(
                agency, form.cleaned_data["user"], form.cleaned_data["role"],
                acting_user=request.user,
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"Added {form.cleaned_data['user'].get_username()}.")
            return redirect("agency-members", slug=agency.slug)
    rows = agency.memberships.select_related("user").order_by("user__username")
    return render(
        request,
        "agencies/members.html",
        {"agency": agency, "memberships": rows, "form": form, "roles": Role.choices,
         "with_factor": factors.users_with_factor(m.user_id for m in rows)},
        status=400 if form.errors else 200,
    )


@login_required
@require_POST
def member_role(request: HttpRequest, slug: str, membership_id: int) -> HttpResponse:
    membership = access.get_membership_for_admin(request, slug, membership_id)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose one of the listed roles.")
        return redirect("agency-members", slug=slug)
    try:
        actions.do_change_role(membership, form.cleaned_data["role"], acting_user=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request, f"{membership.user.get_username()} is now {form.cleaned_data['role']}."
        )
    return redirect("agency-members", slug=slug)


@login_required
@require_POST
def member_remove(request: HttpRequest, slug: str, membership_id: int) -> HttpResponse:
    membership = access.get_membership_for_admin(request, slug, membership_id)
    try:
        actions.do_remove_member(membership, acting_user=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Removed {membership.user.get_username()}.")
    return redirect("agency-members", slug=slug)


@login_required
def agency_settings(request: HttpRequest, slug: str) -> HttpResponse:
    agency = access.get_agency_for_user(request, slug, min_role=Role.ADMIN)
    form = AgencySettingsForm(request.POST or None, request.FILES or None, instance=agency)
    if request.method == "POST" and form.is_valid():
        try:
            actions.do_update_agency_settings(agency, form.changes(), acting_user=request.user)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, "Settings saved.")
            return redirect("agency-settings", slug=agency.slug)
    # A failed save may have left unsaved values on the instance: show the stored ones.
    agency.refresh_from_db()
    return render(
        request,
        "agencies/settings.html",
        {"agency": agency, "form": form},
        status=400 if form.errors else 200,
    )


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness and database reachability, for load balancers. Reveals nothing else."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return JsonResponse({"status": "ok"})
    except Exception:  # noqa: BLE001 - any database failure means "not ready"
        return JsonResponse({"status": "database unavailable"}, status=503)


def _may_create_tokens(request: HttpRequest) -> bool:
    """Tokens are made only in a session that passed the second factor (when required)."""
    from django.conf import settings

    check = getattr(request.user, "is_verified", None)
    return not (getattr(settings, "MFA_REQUIRED", False) and callable(check) and not check())


def _token_rows(tokens) -> list:
    from agencies.tokens import token_status

    rows = list(tokens)
    for token in rows:
        token.status = token_status(token)
    return rows


@login_required
def api_token(request: HttpRequest) -> HttpResponse:
    """Your API tokens: list, create (the key is shown once), revoke."""
    from agencies.models import ApiToken
    from agencies.tokens import issue_token

    key = None
    status = 200
    may_create = _may_create_tokens(request)
    if request.method == "POST":
        name = request.POST.get("name", "").strip()
        if not may_create:
            messages.error(request, "Pass the second factor before creating a token.")
            status = 403
        elif not name or len(name) > 100:
            messages.error(request, "Give the token a name (up to 100 characters).")
            status = 400
        else:
            key = issue_token(request.user, name, request=request)[1]
    owner: Any = request.user  # signed in (login_required)
    tokens = ApiToken.objects.filter(user=owner).select_related("user")
    return render(request, "agencies/api_token.html", {
        "key": key, "tokens": _token_rows(tokens), "may_create": may_create}, status=status)


@login_required
@require_POST
def api_token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    """Revoke one of your own tokens (anyone else's does not exist: 404)."""
    from django.shortcuts import get_object_or_404

    from agencies.models import ApiToken
    from agencies.tokens import revoke_token

    token = get_object_or_404(ApiToken, pk=token_id, user_id=request.user.pk)
    revoke_token(token, acting_user=request.user, reason="revoked by its owner", request=request)
    messages.success(request, f"Revoked the token {token.name}.")
    return redirect("api-token")


@login_required
def agency_tokens(request: HttpRequest, slug: str) -> HttpResponse:
    """The API tokens of the agency's members, for its admin."""
    from agencies.models import ApiToken

    agency = access.get_agency_for_user(request, slug, min_role=Role.ADMIN)
    tokens = (ApiToken.objects.filter(user__memberships__agency=agency)
              .select_related("user").order_by("user__username", "-created_at"))
    return render(request, "agencies/agency_tokens.html",
                  {"agency": agency, "tokens": _token_rows(tokens)})


@login_required
@require_POST
def agency_token_revoke(request: HttpRequest, slug: str, token_id: int) -> HttpResponse:
    """An admin revokes a member's token; tokens of anyone outside the agency do not exist."""
    from django.shortcuts import get_object_or_404

    from agencies.models import ApiToken
    from agencies.tokens import revoke_token

    agency = access.get_agency_for_user(request, slug, min_role=Role.ADMIN)
    token = get_object_or_404(ApiToken, pk=token_id, user__memberships__agency=agency)
    revoke_token(token, acting_user=request.user, reason="revoked by an agency admin",
                 request=request, agency=agency)
    messages.success(request, f"Revoked {token.user.get_username()}'s token {token.name}.")
    return redirect("agency-tokens", slug=agency.slug)
