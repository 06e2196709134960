"""/a/<slug>/data/...: uploads, datasets and the category mapping."""

from django.urls import path

from predictions.incidents import views

urlpatterns = [
    path("a/<slug:slug>/data/", views.datasets, name="datasets"),
    path("a/<slug:slug>/data/categories/", views.category_mapping, name="category-mapping"),
    path("a/<slug:slug>/data/<int:dataset_id>/", views.dataset_detail, name="dataset-detail"),
    path("a/<slug:slug>/data/<int:dataset_id>/status.json", views.dataset_status,
         name="dataset-status"),
    path("a/<slug:slug>/data/<int:dataset_id>/errors.csv", views.dataset_errors,
         name="dataset-errors"),
    path("a/<slug:slug>/data/<int:dataset_id>/delete/", views.dataset_delete,
         name="dataset-delete"),
]
