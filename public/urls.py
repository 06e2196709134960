"""Public pages and API (no login): they read published releases, never incidents."""

from django.urls import path, re_path

from public import api, publishing, views

urlpatterns = [
    path("public/", views.index, name="public-index"),
    path("public/<slug:slug>/", views.map_page, name="public-map"),
    path("public/<slug:slug>/method/", views.method_page, name="public-method"),
    re_path(r"^public/(?P<slug>[-\w]+)/download\.(?P<fmt>csv|geojson)$", views.download,
            name="public-download"),
    path("a/<slug:slug>/publishing/", publishing.publishing, name="public-publishing"),
    path("a/<slug:slug>/publishing/now/", publishing.publish_now, name="public-publish-now"),
    path("api/v1/public/", api.agencies, name="public-api-agencies"),
    path("api/v1/public/<slug:slug>/", api.meta, name="public-api-meta"),
    path("api/v1/public/<slug:slug>/map/", api.map_data, name="public-api-map"),
    path("api/v1/public/<slug:slug>/trend/", api.trend, name="public-api-trend"),
    path("api/v1/public/<slug:slug>/places/", api.places, name="public-api-places"),
    path("api/v1/public/<slug:slug>/search/", api.search, name="public-api-search"),
    path("api/v1/public/<slug:slug>/scorecard/", api.scorecard, name="public-api-scorecard"),
    re_path(r"^api/v1/public/(?P<slug>[-\w]+)/months/(?P<month>\d{4}-\d{2})/$", api.month,
            name="public-api-month"),
]
