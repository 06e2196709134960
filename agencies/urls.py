from django.urls import path

from agencies import views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz/", views.healthz, name="healthz"),
    path("accounts/token/", views.api_token, name="api-token"),
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
]
