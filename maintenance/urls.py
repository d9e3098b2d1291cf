"""The plan calendar, mounted at /staff/maintenance/."""

from django.urls import path

from . import views

app_name = "maintenance"
urlpatterns = [
    path("", views.plan_calendar, name="calendar"),
]
