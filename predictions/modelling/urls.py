"""/a/<slug>/models/ and /a/<slug>/runs/...: forecast models and their training runs."""

from django.urls import path

from predictions.modelling import risk_factors, views

urlpatterns = [
    path("a/<slug:slug>/models/", views.models_page, name="forecast-models"),
    path("a/<slug:slug>/models/<int:model_id>/", views.model_page, name="model-detail"),
    path("a/<slug:slug>/models/<int:model_id>/train/", views.model_train, name="model-train"),
    path("a/<slug:slug>/models/<int:model_id>/risk-factors/", risk_factors.model_risk_factors,
         name="model-risk-factors"),
    path("a/<slug:slug>/runs/<int:run_id>/", views.training_run, name="training-run"),
    path("a/<slug:slug>/runs/<int:run_id>/status.json", views.training_run_status,
         name="training-run-status"),
]
