from django.urls import path

from oversight import views

urlpatterns = [
    path("oversight/", views.oversight_home, name="oversight-home"),
    path("oversight/export.csv", views.oversight_export, name="oversight-export"),
    path("oversight/export.jsonl", views.oversight_export_jsonl, name="oversight-export-jsonl"),
    path("transparency/audit/verifier.py", views.verifier_source, name="audit-verifier"),
    path("transparency/audit/checkpoints.json", views.published_checkpoints,
         name="audit-checkpoints"),
    path("transparency/<slug:slug>/", views.transparency, name="transparency"),
]
