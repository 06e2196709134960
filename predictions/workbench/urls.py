"""/a/<slug>/workbench/...: the analyst's workbench (analysts and admins). One line per page;
pages of other modules are added below theirs."""

from django.urls import path

from predictions.workbench import outlook, timing, trends, views

urlpatterns = [
    path("a/<slug:slug>/workbench/", views.workbench, name="workbench"),
    path("a/<slug:slug>/workbench/trends/", trends.trends_page, name="workbench-trends"),
    path("a/<slug:slug>/workbench/trends.csv", trends.trends_csv, name="workbench-trends-csv"),
    path("a/<slug:slug>/workbench/outlook/", outlook.outlook_page, name="workbench-outlook"),
    path("a/<slug:slug>/workbench/when/", timing.timing_page, name="workbench-when"),
]
