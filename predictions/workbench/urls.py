"""/a/<slug>/workbench/...: the analyst's workbench (near repeats, did it work, CompStat)."""

from django.urls import path

from predictions.workbench import stats_views as views

urlpatterns = [
    path("a/<slug:slug>/workbench/near-repeats/", views.knox_index, name="workbench-knox"),
    path("a/<slug:slug>/workbench/near-repeats/<int:run_id>/", views.knox_run,
         name="workbench-knox-run"),
    path("a/<slug:slug>/workbench/near-repeats/<int:run_id>/status.json", views.knox_status,
         name="workbench-knox-status"),
    path("a/<slug:slug>/workbench/did-it-work/", views.wdd_page, name="workbench-wdd"),
    path("a/<slug:slug>/workbench/compstat/", views.compstat_index, name="workbench-compstat"),
    path("a/<slug:slug>/workbench/compstat/<int:report_id>/", views.compstat_report,
         name="workbench-compstat-report"),
    path("a/<slug:slug>/workbench/compstat/<int:report_id>.pdf", views.compstat_pdf,
         name="workbench-compstat-pdf"),
]
