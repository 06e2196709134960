"""The second factor's pages: enrol (authenticator app, recovery codes), pass it after the
password, and replace the recovery codes."""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from agencies.onboarding import factors
from agencies.onboarding.forms import CodeForm


def _next(request: HttpRequest) -> str:
    """Where to go afterwards: a local `next`, else home."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return target
    return reverse("home")


def _to(name: str, next_url: str) -> str:
    return reverse(name) + "?" + urlencode({"next": next_url})


@login_required
def setup(request: HttpRequest) -> HttpResponse:
    user = request.user
    next_url = _next(request)
    if factors.has_factor(user):
        if not factors.is_verified(request):
            return redirect(_to("mfa-verify", next_url))
        return render(request, "registration/mfa_status.html", {
            "codes_left": factors.recovery_codes_left(user), "next": next_url})
    device = factors.pending_device(user)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        codes = factors.do_enrol(request, form.cleaned_data["code"], acting_user=user)
        if codes is not None:
            return render(request, "registration/mfa_recovery_codes.html",
                          {"codes": codes, "next": next_url, "first": True})
        form.add_error("code", "That code is not right: enter the 6 digits your app shows "
                               "now.")
    return render(request, "registration/mfa_setup.html", {
        "form": form, "next": next_url, "qr": factors.qr_data_uri(device),
        "secret": factors.secret_text(device), "required": factors.must_enrol(user),
    }, status=400 if form.errors else 200)


@login_required
def verify(request: HttpRequest) -> HttpResponse:
    next_url = _next(request)
    if factors.is_verified(request):
        return redirect(next_url)
    if not factors.has_factor(request.user):  # never enrolled, or an admin reset it
        factors.remember(request, device=False)
        return redirect(_to("mfa-setup", next_url))
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        passed, problem = factors.verify(request, form.cleaned_data["code"])
        if passed:
            return redirect(next_url)
        form.add_error("code", problem)
    return render(request, "registration/mfa_verify.html", {"form": form, "next": next_url},
                  status=400 if form.errors else 200)


@login_required
@require_POST
def recovery_codes(request: HttpRequest) -> HttpResponse:
    next_url = _next(request)
    if not factors.has_factor(request.user):
        return redirect(_to("mfa-setup", next_url))
    if not factors.is_verified(request):
        return redirect(_to("mfa-verify", next_url))
    codes = factors.do_new_recovery_codes(acting_user=request.user)
    return render(request, "registration/mfa_recovery_codes.html",
                  {"codes": codes, "next": next_url, "first": False,
                   "required": settings.MFA_REQUIRED})
