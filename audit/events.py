"""Every kind of event the audit trail records, with the words the oversight pages show.

``audit.record`` takes only these: a new kind of event is added here, with its label.
"""

from __future__ import annotations

from django.db import models


class Action(models.TextChoices):
    # reads of predictions (the trail's reason to exist)
    FORECAST_VIEW = "forecast.view", "Opened a forecast map"
    FORECAST_MAP_LAYER = "forecast.map_layer", "Loaded a forecast's cells"
    FORECAST_CELL = "forecast.cell", "Opened a forecast cell"
    FORECAST_INCIDENTS = "forecast.incidents", "Loaded incidents beside a forecast"
    FORECAST_EXPORT = "forecast.export", "Exported a forecast"
    FORECAST_SEARCH = "forecast.search", "Searched places and recorded addresses on a forecast"
    FORECAST_API_CELLS = "forecast.api_cells", "Read a forecast's cells through the API"
    FORECAST_PURGE = "forecast.purge", "Deleted forecasts past retention"
    # the analyst's workbench: counts, trends and count forecasts by named area
    WORKBENCH_VIEW = "workbench.view", "Opened a workbench page (counts by area and time)"
    WORKBENCH_EXPORT = "workbench.export", "Downloaded workbench counts"
    # data
    DATA_UPLOAD = "data.upload", "Uploaded incident data"
    DATA_IMPORT_START = "data.import_start", "Started an import"
    DATA_IMPORT = "data.import", "Imported incident data"
    DATA_DELETE = "data.delete", "Deleted a dataset"
    DATA_CATEGORY_MAPPING = "data.category_mapping", "Changed the category mapping"
    # models and layers
    MODEL_TRAIN_START = "model.train_start", "Started training a model"
    MODEL_TRAIN = "model.train", "Trained a model"
    MODEL_GOVERNANCE_VIEW = "model.governance_view", "Read a model's governance pack"
    LAYER_IMPORT_START = "layer.import_start", "Sent an area layer file to be read"
    LAYER_UPLOAD = "layer.upload", "Uploaded an area layer"
    LAYER_UPDATE = "layer.update", "Changed an area layer's use"
    LAYER_DELETE = "layer.delete", "Deleted an area layer"
    # the analyst's workbench: near repeats, intervention checks, CompStat reports
    KNOX_START = "workbench.knox_start", "Started a near-repeat (Knox) analysis"
    KNOX_RUN = "workbench.knox", "Ran a near-repeat (Knox) analysis"
    KNOX_VIEW = "workbench.knox_view", "Opened a near-repeat analysis"
    WDD_VIEW = "workbench.wdd", "Tested whether an intervention worked (WDD)"
    COMPSTAT_REQUEST = "workbench.compstat_request", "Asked for a CompStat report"
    COMPSTAT_MAKE = "workbench.compstat", "Made a CompStat report"
    COMPSTAT_VIEW = "workbench.compstat_view", "Opened a CompStat report"
    # tenancy and oversight
    AGENCY_SETTINGS_CHANGE = "agency.settings_change", "Changed agency settings"
    PUBLIC_PUBLISH_NOW = "public.publish_now", "Asked for the public map to be published now"
    MEMBERSHIP_ADD = "membership.add", "Added a member"
    MEMBERSHIP_ROLE_CHANGE = "membership.role_change", "Changed a member's role"
    MEMBERSHIP_REMOVE = "membership.remove", "Removed a member"
    BOARD_CREATE = "board.create", "Created an oversight board"
    BOARD_GRANT = "board.grant", "Granted a board the audit trail"
    BOARD_REVOKE = "board.revoke", "Revoked a board's grant"
    BOARD_MEMBER_ADD = "board.member_add", "Added a board member"
    BOARD_MEMBER_REMOVE = "board.member_remove", "Removed a board member"
    # onboarding: new agencies, invitations, second factors
    AGENCY_CREATE = "agency.create", "Created an agency"
    INVITATION_CREATE = "invitation.create", "Invited someone to an agency or a board"
    INVITATION_RESEND = "invitation.resend", "Resent an invitation"
    INVITATION_REVOKE = "invitation.revoke", "Revoked an invitation"
    INVITATION_ACCEPT = "invitation.accept", "Accepted an invitation"
    INVITATION_REFUSED = "invitation.refused", "Used an invitation link that is no longer valid"
    MFA_ENROL = "auth.mfa_enrol", "Enrolled a second factor"
    MFA_VERIFY = "auth.mfa_verify", "Passed the second factor"
    MFA_FAILED = "auth.mfa_failed", "Failed the second factor"
    MFA_RECOVERY_CODES = "auth.mfa_recovery_codes", "Replaced the recovery codes"
    MFA_RESET = "auth.mfa_reset", "Reset a member's second factor"
    AUDIT_VIEW = "audit.view", "Read the audit trail"
    AUDIT_EXPORT = "audit.export", "Exported the audit trail"
    # sign-in and refusals
    AUTH_LOGIN = "auth.login", "Signed in"
    AUTH_LOGIN_FAILED = "auth.login_failed", "Failed to sign in"
    AUTH_LOGOUT = "auth.logout", "Signed out"
    AUTH_LOCKOUT = "auth.lockout", "Account locked after failed sign-ins"
    AUTH_LOCKOUT_RELEASE = "auth.lockout_release", "Released a locked account"
    AUTH_PASSWORD_CHANGE = "auth.password_change", "Changed their password"
    AUTH_TOKEN_CREATE = "auth.token_create", "Created an API token"
    AUTH_TOKEN_REVOKE = "auth.token_revoke", "Revoked an API token"
    ACCESS_DENIED = "access.denied", "Was refused access"
