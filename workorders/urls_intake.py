"""Public intake and tracking pages, and the agents' phone intake (mounted at the site root)."""

from django.urls import path

from .views import intake as views

app_name = "intake"
urlpatterns = [
    path("request/", views.request_create, name="request"),
    path("request/equipment/<str:token>/", views.request_for_equipment, name="request-equipment"),
    path("request/done/<slug:token>/", views.request_done, name="request-done"),
    path("track/<slug:token>/", views.track, name="track"),
    path("track/<slug:token>/photos/<int:pk>/", views.track_photo, name="track-photo"),
    path("attachments/<int:pk>/", views.attachment, name="attachment"),
    path("staff/work-orders/new/", views.staff_intake, name="staff-intake"),
    path("staff/customers/lookup/", views.customer_lookup, name="customer-lookup"),
]
