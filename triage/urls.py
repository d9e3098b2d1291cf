from django.urls import path

from . import views

app_name = "triage"

urlpatterns = [
    path("work-orders/<int:pk>/accept/", views.accept, name="accept"),
]
