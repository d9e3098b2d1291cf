"""Completion reports: the managers' review, the staff's and the customer's service report PDF.

Mounted at the site root; every address here is spelled out in full.
"""

from django.urls import path

from . import views, views_invoicing

app_name = "completion"
urlpatterns = [
    path("staff/reviews/", views.review_list, name="reviews"),
    path("staff/reviews/<int:pk>/", views.review_detail, name="review"),
    path("staff/work-orders/<int:pk>/report.pdf", views.staff_report_pdf, name="report-pdf"),
    path("track/<slug:token>/report.pdf", views.track_report_pdf, name="track-report"),
    # Invoicing (managers): what waits, batches handed over, their downloads.
    path("staff/invoicing/", views_invoicing.invoicing, name="invoicing"),
    path("staff/invoicing/batches/", views_invoicing.batch_create, name="invoice-batch-create"),
    path("staff/invoicing/batches/<int:pk>/", views_invoicing.batch_detail, name="invoice-batch"),
    path("staff/invoicing/batches/<int:pk>/release/", views_invoicing.batch_release, name="invoice-batch-release"),
    path("staff/invoicing/batches/<int:pk>/<str:fmt>/", views_invoicing.batch_download, name="invoice-batch-download"),
]
