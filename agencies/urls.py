from django.urls import path

from agencies import views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz/", views.healthz, name="healthz"),
    path("accounts/token/", views.api_token, name="api-token"),
    path("accounts/token/<int:token_id>/revoke/", views.api_token_revoke,
         name="api-token-revoke"),
    path("a/<slug:slug>/", views.workspace, name="agency-workspace"),
    path("a/<slug:slug>/members/", views.members, name="agency-members"),
    path(
        "a/<slug:slug>/members/<int:membership_id>/role/",
        views.member_role,
        name="agency-member-role",
    ),
    path(
        "a/<slug:slug>/members/<int:membership_id>/remove/",
        views.member_remove,
        name="agency-member-remove",
    ),
    path("a/<slug:slug>/settings/", views.agency_settings, name="agency-settings"),
    path("a/<slug:slug>/tokens/", views.agency_tokens, name="agency-tokens"),
    path("a/<slug:slug>/tokens/<int:token_id>/revoke/", views.agency_token_revoke,
         name="agency-token-revoke"),
]
