"""Completion reports: the managers' review, the staff's and the customer's service report PDF.

Mounted at the site root; every address here is spelled out in full.
"""

from django.urls import path

from . import views

app_name = "completion"
urlpatterns = [
    path("staff/reviews/", views.review_list, name="reviews"),
    path("staff/reviews/<int:pk>/", views.review_detail, name="review"),
    path("staff/work-orders/<int:pk>/report.pdf", views.staff_report_pdf, name="report-pdf"),
    path("track/<slug:token>/report.pdf", views.track_report_pdf, name="track-report"),
]
