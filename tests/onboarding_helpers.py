"""Helpers of the onboarding tests: TOTP codes computed with django-otp's own code, enrolled
factors, invitation links read from the sent email."""

from __future__ import annotations

import re
import time
from urllib.parse import urlsplit

from django.core import mail
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

BOUNDARY = {"type": "Polygon", "coordinates": [[[-90.3, 38.6], [-90.2, 38.6], [-90.2, 38.7],
                                                [-90.3, 38.7], [-90.3, 38.6]]]}
NEW_PASSWORD = "a long and unusual passphrase 42"


def totp_code(user) -> str:
    """The code the user's authenticator app shows: the current one, or the next one when
    the current one was already used (the device refuses a code twice)."""
    device = TOTPDevice.objects.filter(user=user).order_by("-pk").first()
    assert device is not None, f"{user} has no TOTP device"
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time()
    if totp.t() <= device.last_t:
        totp.time = device.t0 + (device.last_t + 1 - device.drift) * device.step
    return f"{totp.token():0{device.digits}d}"


def enrolled(user, recovery: tuple[str, ...] = ()) -> TOTPDevice:
    """A confirmed factor for `user` (as if they had enrolled), with these recovery codes."""
    device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)
    if recovery:
        static = StaticDevice.objects.create(user=user, name="Recovery codes", confirmed=True)
        for code in recovery:
            StaticToken.objects.create(device=static, token=code)
    return device


def last_link(to: str | None = None) -> str:
    """The path of the invitation link in the last email (to `to`)."""
    messages = [m for m in mail.outbox if to is None or to in m.to]
    assert messages, f"no email to {to}"
    found = re.search(r"https?://\S+/invitations/\S+/", messages[-1].body)
    assert found, messages[-1].body
    return urlsplit(found.group(0)).path


def sign_in(client, username: str, password: str):
    return client.post("/accounts/login/", {"username": username, "password": password})
