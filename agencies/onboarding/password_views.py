"""Changing one's password: the other sessions and every API token end with the old one."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordChangeForm
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

import audit
from agencies.tokens import end_tokens
from audit.events import Action


def do_change_password(request: HttpRequest, form: PasswordChangeForm, *, acting_user) -> int:
    """Save the new password, end the user's API tokens, record it; keep this session only
    (the others fail Django's session hash check from now on). The tokens ended."""
    with transaction.atomic():
        user = form.save()
        ended = end_tokens(user, reason="password changed", acting_user=acting_user)
        audit.record(action=Action.AUTH_PASSWORD_CHANGE, request=request, actor=acting_user,
                     object_type="user", object_id=user.pk, details={"tokens_ended": ended})
    update_session_auth_hash(request, user)
    return ended


@login_required
def password_change(request: HttpRequest) -> HttpResponse:
    form = PasswordChangeForm(request.user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        ended = do_change_password(request, form, acting_user=request.user)
        messages.success(request, "Your password was changed. Your other sessions have ended"
                         + (f", and your {ended} API token(s) no longer work." if ended else "."))
        return redirect("home")
    return render(request, "registration/password_change.html", {"form": form},
                  status=400 if form.errors else 200)
