from django.urls import path, re_path

from predictions import views_data, views_forecast, views_models

urlpatterns = [
    path("a/<slug:slug>/data/", views_data.datasets, name="datasets"),
    path("a/<slug:slug>/data/categories/", views_data.category_mapping, name="category-mapping"),
    path("a/<slug:slug>/data/<int:dataset_id>/", views_data.dataset_detail,
         name="dataset-detail"),
    path("a/<slug:slug>/data/<int:dataset_id>/status.json", views_data.dataset_status,
         name="dataset-status"),
    path("a/<slug:slug>/data/<int:dataset_id>/errors.csv", views_data.dataset_errors,
         name="dataset-errors"),
    path("a/<slug:slug>/data/<int:dataset_id>/delete/", views_data.dataset_delete,
         name="dataset-delete"),
    path("a/<slug:slug>/models/", views_models.models_page, name="forecast-models"),
    path("a/<slug:slug>/models/<int:model_id>/train/", views_models.model_train,
         name="model-train"),
    path("a/<slug:slug>/runs/<int:run_id>/", views_models.training_run, name="training-run"),
    path("a/<slug:slug>/runs/<int:run_id>/status.json", views_models.training_run_status,
         name="training-run-status"),
    path("a/<slug:slug>/forecast/", views_forecast.forecast_map, name="forecast-map"),
    path("a/<slug:slug>/forecast/<int:forecast_id>/cells.geojson", views_forecast.forecast_cells,
         name="forecast-cells"),
    path("a/<slug:slug>/forecast/<int:forecast_id>/cell/<int:rank>/",
         views_forecast.forecast_cell, name="forecast-cell"),
    re_path(r"^a/(?P<slug>[-\w]+)/forecast/(?P<forecast_id>\d+)/export\.(?P<fmt>csv|geojson)$",
            views_forecast.forecast_export, name="forecast-export"),
]
