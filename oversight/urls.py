from django.urls import path

from oversight import views

urlpatterns = [
    path("oversight/", views.oversight_home, name="oversight-home"),
    path("oversight/export.csv", views.oversight_export, name="oversight-export"),
    path("transparency/audit/checkpoints.json", views.published_checkpoints,
         name="audit-checkpoints"),
    path("transparency/<slug:slug>/", views.transparency, name="transparency"),
]
