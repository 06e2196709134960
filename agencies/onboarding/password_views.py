"""Changing one's password: the other sessions and every API token end with the old one."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordChangeForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from agencies.onboarding.actions import do_change_password


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
