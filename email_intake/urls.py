from django.urls import path

from . import views

app_name = "email_intake"

urlpatterns = [
    path("staff/email/", views.inbox, name="inbox"),
    path("staff/email/<int:pk>/", views.detail, name="detail"),
    path("staff/email/<int:pk>/handled/", views.handled, name="handled"),
    path("inbound/email/", views.inbound_webhook, name="webhook"),
]
