"""Onboarding: new agencies by platform administrators, invitations by email, and second
factors (TOTP with recovery codes, django-otp) for everyone who reaches agency data.

``actions`` holds the state changes (each audited), ``factors`` the second factor,
``middleware`` the rule that sends a member to enrol or to pass the factor before anything
else, ``views``/``factor_views`` the pages.
"""
