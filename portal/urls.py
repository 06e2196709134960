"""Top-level URLs. Every pattern is covered by tests/test_url_matrix.py."""

# Admin modules are registered explicitly (SimpleAdminConfig, see settings.INSTALLED_APPS).
import axes.admin  # noqa: F401
import django.contrib.auth.admin  # noqa: F401
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

import agencies.admin  # noqa: F401
from agencies.forms import LoginForm

# JSON 404s under /api/ (the schema's `Error`), Django's page elsewhere
handler404 = "predictions.api.errors.page_not_found"

urlpatterns = [
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(
            authentication_form=LoginForm, redirect_authenticated_user=True
        ),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("predictions.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("", include("agencies.onboarding.urls")),
    path("", include("agencies.urls")),
    path("", include("oversight.urls")),
    path("", include("predictions.urls")),
    path("", include("public.urls")),
]
