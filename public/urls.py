"""Public pages and API (no login): they read published releases, never incidents."""

urlpatterns: list = []
