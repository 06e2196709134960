"""Oversight boards' own pages: platform administrators create boards; a board's chairs (and
platform administrators) invite members and chairs by email, resend, revoke and remove."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from agencies import access, actions
from agencies.models import Invitation, OversightBoard
from agencies.onboarding import actions as invitations
from agencies.onboarding.forms import BoardInviteForm, NewBoardForm
from agencies.onboarding.invitation_pages import resend, revoke, send_link, staff_only


@login_required
def platform_boards(request: HttpRequest) -> HttpResponse:
    """Every board, and a new one (then its chair is invited on the board's page)."""
    staff_only(request)
    form = NewBoardForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        board = actions.do_create_board(form.cleaned_data["name"], form.cleaned_data["slug"],
                                        description=form.cleaned_data["description"],
                                        acting_user=request.user)
        messages.success(request, f"Created {board.name}: now invite its chair.")
        return redirect("board-members", slug=board.slug)
    boards = OversightBoard.objects.annotate(n_members=Count("group__user", distinct=True))
    return render(request, "agencies/platform_boards.html", {"boards": boards, "form": form},
                  status=400 if form.errors else 200)


@login_required
def board_members(request: HttpRequest, slug: str) -> HttpResponse:
    board = access.get_board_to_manage(request, slug)
    form = BoardInviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            invitation, token = invitations.do_invite_to_board(
                board, form.cleaned_data["email"], form.cleaned_data["role"],
                acting_user=request.user)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            send_link(request, invitation, token, "Invited")
            return redirect("board-members", slug=board.slug)
    chairs = access.board_chairs(board)
    members = [{"user": u, "chair": u.pk in chairs} for u in board.members.order_by("username")]
    return render(request, "agencies/board_members.html", {
        "board": board, "members": members, "form": form,
        "invitations": board.invitations.select_related("invited_by", "accepted_by")[:200],
        "grants": access.agencies_granted_to(board),
    }, status=400 if form.errors else 200)


def _board_invitation(request: HttpRequest, slug: str, invitation_id: int) -> Invitation:
    board = access.get_board_to_manage(request, slug)
    return get_object_or_404(Invitation.objects.select_related("board"), board=board,
                             pk=invitation_id)


@login_required
@require_POST
def board_invitation_resend(request: HttpRequest, slug: str, invitation_id: int) -> HttpResponse:
    resend(request, _board_invitation(request, slug, invitation_id))
    return redirect("board-members", slug=slug)


@login_required
@require_POST
def board_invitation_revoke(request: HttpRequest, slug: str, invitation_id: int) -> HttpResponse:
    revoke(request, _board_invitation(request, slug, invitation_id))
    return redirect("board-members", slug=slug)


@login_required
@require_POST
def board_member_remove(request: HttpRequest, slug: str, user_id: int) -> HttpResponse:
    board = access.get_board_to_manage(request, slug)
    member = get_object_or_404(board.members, pk=user_id)
    try:
        actions.do_remove_board_member(board, member, acting_user=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Removed {member.get_username()} from {board.name}.")
    return redirect("board-members", slug=slug)


