"""The technicians' mobile pages, mounted at /tech/."""

from django.urls import path

from . import views

app_name = "tech"
urlpatterns = [
    path("", views.job_list, name="jobs"),
    path("jobs/<int:pk>/", views.job_detail, name="job"),
    path("jobs/<int:pk>/status/", views.job_status, name="status"),
    path("jobs/<int:pk>/complete/", views.job_complete, name="complete"),
    path("jobs/<int:pk>/report/revise/", views.report_revise, name="revise"),
    path("jobs/<int:pk>/position/", views.job_position, name="position"),
    path("location-consent/", views.location_consent, name="location-consent"),
    path("jobs/<int:pk>/parts/", views.job_parts_request, name="job-parts"),
    path("parts/", views.parts, name="parts"),
    path("parts/<int:pk>/<str:action>/", views.parts_step, name="parts-step"),
]
