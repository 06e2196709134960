from django.urls import path

from predictions import views_data

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
]
