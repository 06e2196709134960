"""Pages of onboarding: the platform administrators' agencies, invitations (by agency admins
and platform administrators) and the invitee's page that accepts one."""

from __future__ import annotations

import logging
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model, login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from agencies import access
from agencies.models import Agency, Invitation
from agencies.onboarding import actions, factors
from agencies.onboarding.forms import AcceptForm, InviteForm, NewAgencyForm
from agencies.onboarding.invitation_pages import resend, revoke, send_link, staff_only
from agencies.roles import Role
from common import maps

logger = logging.getLogger(__name__)


# --- who may: platform administrators, agency admins ------------------------------------------

def _staff_agency(request: HttpRequest, slug: str) -> Agency:
    staff_only(request)
    return get_object_or_404(Agency, slug=slug)


def _staff_invitation(request: HttpRequest, slug: str, invitation_id: int) -> Invitation:
    agency = _staff_agency(request, slug)
    return get_object_or_404(Invitation.objects.select_related("agency"), agency=agency,
                             pk=invitation_id)


def _admin_invitation(request: HttpRequest, slug: str, invitation_id: int) -> Invitation:
    """An invitation of an agency the user administers (another agency's: 404)."""
    return access.get_object_for_user(request, Invitation.objects.all(), agency_slug=slug,
                                      min_role=Role.ADMIN, pk=invitation_id)


# --- sending ----------------------------------------------------------------------------------

def _invite(request: HttpRequest, agency: Agency, form: InviteForm) -> bool:
    try:
        invitation, token = actions.do_invite(agency, form.cleaned_data["email"],
                                              form.cleaned_data["role"], acting_user=request.user)
    except ValidationError as exc:
        form.add_error(None, exc)
        return False
    send_link(request, invitation, token, "Invited")
    return True


# --- platform administrators ------------------------------------------------------------------

@login_required
def platform_agencies(request: HttpRequest) -> HttpResponse:
    staff_only(request)
    pending = Q(invitations__accepted_at__isnull=True, invitations__revoked_at__isnull=True,
                invitations__expires_at__gt=timezone.now())
    agencies = Agency.objects.defer("boundary").annotate(
        members=Count("memberships", distinct=True),
        pending=Count("invitations", filter=pending, distinct=True))
    return render(request, "agencies/platform_agencies.html", {"agencies": agencies})


@login_required
@maps.draws_map
def platform_agency_new(request: HttpRequest) -> HttpResponse:
    staff_only(request)
    form = NewAgencyForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            agency = actions.do_create_agency(form.values(), acting_user=request.user)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"Created {agency.name}. Now invite its first admin.")
            return redirect("platform-agency", slug=agency.slug)
    # a form sent back keeps the boundary the browser read (its hidden field), to draw again
    kept = form.is_bound and not form.errors.get("boundary_geojson") and bool(
        form["boundary_geojson"].value())
    return render(request, "agencies/platform_agency_new.html",
                  {"form": form, "boundary_kept": kept, "tiles": maps.tiles()},
                  status=400 if form.errors else 200)


@login_required
@maps.draws_map
def platform_agency(request: HttpRequest, slug: str) -> HttpResponse:
    agency = _staff_agency(request, slug)
    form = InviteForm(request.POST or None, initial_role=Role.ADMIN)
    if request.method == "POST" and form.is_valid() and _invite(request, agency, form):
        return redirect("platform-agency", slug=agency.slug)
    return render(request, "agencies/platform_agency.html", {
        "agency": agency, "form": form, "tiles": maps.tiles(),
        "invitations": agency.invitations.select_related("invited_by", "accepted_by"),
        "members": agency.memberships.select_related("user").order_by("user__username"),
        "resend_url": "platform-invitation-resend", "revoke_url": "platform-invitation-revoke",
    }, status=400 if form.errors else 200)


@login_required
@require_POST
def platform_invitation_resend(request: HttpRequest, slug: str,
                               invitation_id: int) -> HttpResponse:
    resend(request, _staff_invitation(request, slug, invitation_id))
    return redirect("platform-agency", slug=slug)


@login_required
@require_POST
def platform_invitation_revoke(request: HttpRequest, slug: str,
                               invitation_id: int) -> HttpResponse:
    revoke(request, _staff_invitation(request, slug, invitation_id))
    return redirect("platform-agency", slug=slug)


# --- agency admins ----------------------------------------------------------------------------

@login_required
def agency_invitations(request: HttpRequest, slug: str) -> HttpResponse:
    agency = access.get_agency_for_user(request, slug, min_role=Role.ADMIN)
    form = InviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid() and _invite(request, agency, form):
        return redirect("agency-invitations", slug=agency.slug)
    return render(request, "agencies/invitations.html", {
        "agency": agency, "form": form,
        "invitations": agency.invitations.select_related("invited_by", "accepted_by"),
        "resend_url": "agency-invitation-resend", "revoke_url": "agency-invitation-revoke",
        "days": settings.INVITATION_DAYS,
    }, status=400 if form.errors else 200)


@login_required
@require_POST
def agency_invitation_resend(request: HttpRequest, slug: str, invitation_id: int) -> HttpResponse:
    resend(request, _admin_invitation(request, slug, invitation_id))
    return redirect("agency-invitations", slug=slug)


@login_required
@require_POST
def agency_invitation_revoke(request: HttpRequest, slug: str, invitation_id: int) -> HttpResponse:
    revoke(request, _admin_invitation(request, slug, invitation_id))
    return redirect("agency-invitations", slug=slug)


@login_required
@require_POST
def member_reset_factor(request: HttpRequest, slug: str, membership_id: int) -> HttpResponse:
    membership = access.get_membership_for_admin(request, slug, membership_id)
    factors.do_reset_factor(membership, acting_user=request.user)
    messages.success(request, f"Reset the second factor of {membership.user.get_username()}: "
                              "they set a new one at their next sign-in.")
    return redirect("agency-members", slug=slug)


# --- the invitee ------------------------------------------------------------------------------

def _refused(request: HttpRequest, invitation: Invitation | None, reason: str) -> HttpResponse:
    if invitation is not None:
        actions.record_refusal(invitation, reason, acting_user=request.user
                               if request.user.is_authenticated else None)
    return render(request, "registration/invitation_refused.html", {"reason": reason},
                  status=404 if invitation is None else 410)


def invitation_accept(request: HttpRequest, token: str) -> HttpResponse:
    """The link of an invitation: a new account (username, password) or, for an account
    already holding the invited email, a membership; then the second factor."""
    invitation = actions.invitation_for_token(token)
    if invitation is None:
        return _refused(request, None, "unknown")
    if invitation.status != "pending":
        return _refused(request, invitation, invitation.status)
    user = request.user
    context: dict = {"invitation": invitation, "target": invitation.target}
    landing = (reverse("agency-workspace", args=[invitation.agency.slug])
               if invitation.agency else reverse("oversight-home"))
    if user.is_authenticated:
        if (user.email or "").lower() != invitation.email.lower():
            return render(request, "registration/invitation_accept.html",
                          {**context, "other_account": True})
        if request.method == "POST":
            try:
                actions.do_accept_invitation(invitation, acting_user=user)
            except actions.InvitationRefused as exc:
                return _refused(request, invitation, exc.reason)
            except ValidationError as exc:
                messages.error(request, " ".join(exc.messages))
                return redirect("home")
            messages.success(request, f"You joined {invitation.target.name} as "
                                      f"{invitation.role_label}.")
            return redirect(landing)
        return render(request, "registration/invitation_accept.html", {**context, "join": True})
    if get_user_model().objects.filter(email__iexact=invitation.email, is_active=True).exists():
        login_url = reverse("login") + "?" + urlencode({"next": request.path})
        return render(request, "registration/invitation_accept.html",
                      {**context, "sign_in_first": login_url})
    form = AcceptForm(request.POST or None, email=invitation.email,
                      initial={"username": invitation.email.split("@")[0][:150]})
    if request.method == "POST" and form.is_valid():
        try:
            joined = actions.do_accept_invitation(
                invitation, username=form.cleaned_data["username"],
                password=form.cleaned_data["password1"])
        except actions.InvitationRefused as exc:
            return _refused(request, invitation, exc.reason)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            login(request, joined, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, f"Welcome to {invitation.target.name}. Now set your "
                                      "second factor.")
            return redirect(reverse("mfa-setup") + "?" + urlencode({"next": landing}))
    return render(request, "registration/invitation_accept.html", {**context, "form": form},
                  status=400 if form.errors else 200)
