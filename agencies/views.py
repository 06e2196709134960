"""Pages of the agency workspace and the signed-in home."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from agencies import access, actions
from agencies.forms import AddMemberForm, AgencySettingsForm, RoleForm
from agencies.models import Agency, Membership
from agencies.roles import Role
from audit.events import Action


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
        {"agency": agency, "memberships": rows, "form": form, "roles": Role.choices},
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


@login_required
def api_token(request: HttpRequest) -> HttpResponse:
    """Create or replace your API token; the key is shown once."""
    from rest_framework.authtoken.models import Token

    import audit

    key = None
    if request.method == "POST":
        with transaction.atomic():
            Token.objects.filter(user=request.user).delete()
            key = Token.objects.create(user=request.user).key
            audit.record(action=Action.AUTH_TOKEN_CREATE, request=request)
    return render(request, "agencies/api_token.html", {
        "key": key, "has_token": Token.objects.filter(user=request.user).exists()})
