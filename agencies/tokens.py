"""API tokens: named, shown once, stored as a sha256, expiring after API_TOKEN_DAYS.

A token ends when its owner or their agency's admin revokes it, and whenever its owner's
standing changes: a new password (checked on every request against a fingerprint of the
password hash, so every way of changing a password counts), a role change or a removal
from an agency (agencies/actions.py). While the owner's sign-in is locked for the caller's
address (django-axes, username and address), the token is refused there too.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header

from agencies.models import ApiToken
from audit.events import Action

KEY_PREFIX = "cpp_"
PREFIX_SHOWN = 10  # "cpp_" and six characters: enough to tell tokens apart in a list
LAST_USED_RESOLUTION = timedelta(minutes=1)  # at most one write per token and minute


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def password_fingerprint(user) -> str:
    return hashlib.sha256((user.password or "").encode()).hexdigest()


def token_status(token: ApiToken) -> str:
    """active, revoked, expired or ended (its owner's password changed since)."""
    if token.revoked_at is not None:
        return "revoked"
    if token.expires_at <= timezone.now():
        return "expired"
    if token.password_fingerprint != password_fingerprint(token.user):
        return "ended"
    return "active"


def issue_token(user, name: str, *, request=None) -> tuple[ApiToken, str]:
    """A new token of `user` and its key (the only time the key exists outside the caller)."""
    import audit

    key = KEY_PREFIX + secrets.token_hex(24)
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=user, name=name.strip()[:100] or "API token", key_prefix=key[:PREFIX_SHOWN],
            key_hash=hash_key(key), password_fingerprint=password_fingerprint(user),
            expires_at=timezone.now() + timedelta(days=settings.API_TOKEN_DAYS))
        audit.record(action=Action.AUTH_TOKEN_CREATE, request=request, actor=user,
                     object_type="api_token", object_id=token.pk,
                     details={"name": token.name, "prefix": token.key_prefix,
                              "expires_at": token.expires_at.isoformat()})
    return token, key


@transaction.atomic
def revoke_token(token: ApiToken, *, acting_user, reason: str, request=None,
                 agency=None) -> None:
    import audit

    token = ApiToken.objects.select_for_update().get(pk=token.pk)
    if token.revoked_at is not None:
        return
    token.revoked_at = timezone.now()
    token.revoked_by = acting_user
    token.revoked_reason = reason
    token.save(update_fields=["revoked_at", "revoked_by", "revoked_reason"])
    audit.record(action=Action.AUTH_TOKEN_REVOKE, request=request, actor=acting_user,
                 agency=agency, object_type="api_token", object_id=token.pk,
                 details={"owner": token.user.get_username(), "name": token.name,
                          "prefix": token.key_prefix, "reason": reason})


def end_tokens(user, *, reason: str, acting_user=None, agency=None) -> int:
    """Revoke every live token of `user` (a role change, a removal); the number revoked."""
    live = ApiToken.objects.filter(user=user, revoked_at__isnull=True,
                                   expires_at__gt=timezone.now())
    count = 0
    for token in live:
        revoke_token(token, acting_user=acting_user, reason=reason, agency=agency)
        count += 1
    return count


def locked_out(request, username: str) -> bool:
    """Whether django-axes locks `username` for the address `request` comes from."""
    from axes.handlers.proxy import AxesProxyHandler

    return AxesProxyHandler.is_locked(request, {"username": username})


class HashedTokenAuthentication(BaseAuthentication):
    """`Authorization: Token <key>`, looked up by the key's sha256."""

    keyword = "Token"

    def authenticate(self, request) -> tuple[Any, ApiToken] | None:
        auth = get_authorization_header(request).split()
        if not auth or auth[0].lower() != self.keyword.lower().encode():
            return None
        if len(auth) != 2:
            raise exceptions.AuthenticationFailed("Invalid token header.")
        try:
            key = auth[1].decode()
        except UnicodeError as exc:
            raise exceptions.AuthenticationFailed("Invalid token.") from exc
        return self.authenticate_credentials(key, request)

    def authenticate_credentials(self, key: str, request=None) -> tuple[Any, ApiToken]:
        now = timezone.now()
        token = (ApiToken.objects.select_related("user")
                 .filter(key_hash=hash_key(key), revoked_at__isnull=True, expires_at__gt=now)
                 .first())
        if token is None or not token.user.is_active:
            raise exceptions.AuthenticationFailed("Invalid token.")
        user = token.user
        if not secrets.compare_digest(token.password_fingerprint, password_fingerprint(user)):
            raise exceptions.AuthenticationFailed("Invalid token.")
        django_request = getattr(request, "_request", request)
        if django_request is not None and locked_out(django_request, user.get_username()):
            raise exceptions.AuthenticationFailed("Invalid token.")
        if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return user, token

    def authenticate_header(self, request) -> str:
        return self.keyword


try:  # the OpenAPI schema describes the scheme as drf-spectacular does DRF's own
    from drf_spectacular.extensions import OpenApiAuthenticationExtension
    from drf_spectacular.plumbing import build_bearer_security_scheme_object

    class HashedTokenScheme(OpenApiAuthenticationExtension):
        target_class = "agencies.tokens.HashedTokenAuthentication"
        name = "tokenAuth"

        def get_security_definition(self, auto_schema):
            return build_bearer_security_scheme_object(
                header_name="Authorization", token_prefix=self.target.keyword)
except ImportError:  # pragma: no cover
    pass
