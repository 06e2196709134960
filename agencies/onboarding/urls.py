from django.urls import path

from agencies.onboarding import board_views, factor_views, password_views, views

urlpatterns = [
    path("platform/agencies/", views.platform_agencies, name="platform-agencies"),
    path("platform/agencies/new/", views.platform_agency_new, name="platform-agency-new"),
    path("platform/agencies/<slug:slug>/", views.platform_agency, name="platform-agency"),
    path("platform/agencies/<slug:slug>/invitations/<int:invitation_id>/resend/",
         views.platform_invitation_resend, name="platform-invitation-resend"),
    path("platform/agencies/<slug:slug>/invitations/<int:invitation_id>/revoke/",
         views.platform_invitation_revoke, name="platform-invitation-revoke"),
    path("platform/boards/", board_views.platform_boards, name="platform-boards"),
    path("boards/<slug:slug>/members/", board_views.board_members, name="board-members"),
    path("boards/<slug:slug>/invitations/<int:invitation_id>/resend/",
         board_views.board_invitation_resend, name="board-invitation-resend"),
    path("boards/<slug:slug>/invitations/<int:invitation_id>/revoke/",
         board_views.board_invitation_revoke, name="board-invitation-revoke"),
    path("boards/<slug:slug>/members/<int:user_id>/remove/", board_views.board_member_remove,
         name="board-member-remove"),
    path("a/<slug:slug>/invitations/", views.agency_invitations, name="agency-invitations"),
    path("a/<slug:slug>/invitations/<int:invitation_id>/resend/",
         views.agency_invitation_resend, name="agency-invitation-resend"),
    path("a/<slug:slug>/invitations/<int:invitation_id>/revoke/",
         views.agency_invitation_revoke, name="agency-invitation-revoke"),
    path("a/<slug:slug>/members/<int:membership_id>/reset-factor/",
         views.member_reset_factor, name="agency-member-reset-factor"),
    path("invitations/<str:token>/", views.invitation_accept, name="invitation-accept"),
    path("accounts/password/", password_views.password_change, name="password-change"),
    path("accounts/two-factor/", factor_views.setup, name="mfa-setup"),
    path("accounts/two-factor/verify/", factor_views.verify, name="mfa-verify"),
    path("accounts/two-factor/recovery-codes/", factor_views.recovery_codes,
         name="mfa-recovery-codes"),
]
