"""/a/<slug>/layers/...: area layers (tracts, neighbourhoods, places)."""

from django.urls import path

from predictions.areas import views

urlpatterns = [
    path("a/<slug:slug>/layers/", views.layers, name="layers"),
    path("a/<slug:slug>/layers/uploads/<int:upload_id>/", views.layer_upload,
         name="layer-upload"),
    path("a/<slug:slug>/layers/<int:layer_id>/", views.layer_detail, name="layer-detail"),
    path("a/<slug:slug>/layers/<int:layer_id>/delete/", views.layer_delete,
         name="layer-delete"),
    path("a/<slug:slug>/layers/<int:layer_id>/outlines.geojson", views.layer_outlines,
         name="layer-outlines"),
]
