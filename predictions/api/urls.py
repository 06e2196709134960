from django.urls import path

from predictions.api import views as api

urlpatterns = [
    path("agencies/", api.AgencyList.as_view(), name="api-agencies"),
    path("agencies/<slug:slug>/datasets/", api.DatasetList.as_view(), name="api-datasets"),
    path("agencies/<slug:slug>/datasets/<int:pk>/", api.DatasetDetail.as_view(),
         name="api-dataset"),
    path("agencies/<slug:slug>/incidents/", api.IncidentList.as_view(), name="api-incidents"),
    path("agencies/<slug:slug>/models/", api.ModelList.as_view(), name="api-models"),
    path("agencies/<slug:slug>/models/<int:pk>/train/", api.ModelTrain.as_view(),
         name="api-model-train"),
    path("agencies/<slug:slug>/runs/<int:pk>/", api.RunDetail.as_view(), name="api-run"),
    path("agencies/<slug:slug>/forecasts/", api.ForecastList.as_view(), name="api-forecasts"),
    path("agencies/<slug:slug>/forecasts/<int:pk>/cells/", api.ForecastCells.as_view(),
         name="api-forecast-cells"),
]
