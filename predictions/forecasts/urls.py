"""/a/<slug>/forecast/...: the forecast map, its cells, incidents and exports."""

from django.urls import path, re_path

from predictions.forecasts import views

urlpatterns = [
    path("a/<slug:slug>/forecast/", views.forecast_map, name="forecast-map"),
    path("a/<slug:slug>/forecast/<int:forecast_id>/cells.geojson", views.forecast_cells,
         name="forecast-cells"),
    path("a/<slug:slug>/forecast/<int:forecast_id>/cell/<int:rank>/", views.forecast_cell,
         name="forecast-cell"),
    path("a/<slug:slug>/forecast/<int:forecast_id>/search/", views.forecast_search,
         name="forecast-search"),
    path("a/<slug:slug>/forecast/<int:forecast_id>/incidents.geojson",
         views.forecast_incidents, name="forecast-incidents"),
    re_path(r"^a/(?P<slug>[-\w]+)/forecast/(?P<forecast_id>\d+)/export\.(?P<fmt>csv|geojson)$",
            views.forecast_export, name="forecast-export"),
]
