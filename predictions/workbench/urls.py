"""/a/<slug>/workbench/...: the analyst's workbench (analysts and admins). One line per page."""

from django.urls import path

from predictions.workbench import outlook, stats_views, timing, trends, views

urlpatterns = [
    path("a/<slug:slug>/workbench/", views.workbench, name="workbench"),
    path("a/<slug:slug>/workbench/trends/", trends.trends_page, name="workbench-trends"),
    path("a/<slug:slug>/workbench/trends.csv", trends.trends_csv, name="workbench-trends-csv"),
    path("a/<slug:slug>/workbench/outlook/", outlook.outlook_page, name="workbench-outlook"),
    path("a/<slug:slug>/workbench/when/", timing.timing_page, name="workbench-when"),
    path("a/<slug:slug>/workbench/near-repeats/", stats_views.knox_index, name="workbench-knox"),
    path("a/<slug:slug>/workbench/near-repeats/<int:run_id>/", stats_views.knox_run,
         name="workbench-knox-run"),
    path("a/<slug:slug>/workbench/near-repeats/<int:run_id>/status.json", stats_views.knox_status,
         name="workbench-knox-status"),
    path("a/<slug:slug>/workbench/did-it-work/", stats_views.wdd_page, name="workbench-wdd"),
    path("a/<slug:slug>/workbench/compstat/", stats_views.compstat_index,
         name="workbench-compstat"),
    path("a/<slug:slug>/workbench/compstat/<int:report_id>/", stats_views.compstat_report,
         name="workbench-compstat-report"),
    path("a/<slug:slug>/workbench/compstat/<int:report_id>.pdf", stats_views.compstat_pdf,
         name="workbench-compstat-pdf"),
]
