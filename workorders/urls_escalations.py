"""The managers' escalation list and survey call-backs, mounted at /staff/escalations/."""

from django.urls import path

from .views import escalations as views

app_name = "escalations"
urlpatterns = [
    path("", views.escalation_list, name="list"),
    path("<int:pk>/acknowledge/", views.escalation_acknowledge_page, name="acknowledge"),
    path("acknowledge/", views.escalations_acknowledge_page, name="acknowledge-many"),
    path("callbacks/<int:pk>/", views.survey_callback_page, name="callback"),
]
