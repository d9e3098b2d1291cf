"""Managers' reports, mounted at /reports/."""

from django.urls import path

from . import views

app_name = "reports"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("costs/", views.costs, name="costs"),
    path("export/<slug:name>.<slug:fmt>", views.export, name="export"),
]
