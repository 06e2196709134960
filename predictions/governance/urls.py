"""/a/<slug>/governance/ and /a/<slug>/models/<id>/governance...: governance packs."""

from django.urls import path

from predictions.governance import views

urlpatterns = [
    path("a/<slug:slug>/governance/", views.governance_index, name="governance-index"),
    path("a/<slug:slug>/models/<int:model_id>/governance/", views.governance,
         name="model-governance"),
    path("a/<slug:slug>/models/<int:model_id>/governance.json", views.governance_json,
         name="model-governance-json"),
]
