"""The customer's self-service addresses (mounted at the site root)."""

from django.urls import path

from . import views

app_name = "selfservice"
urlpatterns = [
    path("track/<slug:token>/cancel/", views.cancel, name="cancel"),
    path("track/<slug:token>/note/", views.add_note, name="note"),
    path("track/<slug:token>/reschedule/", views.reschedule, name="reschedule"),
    path("my-requests/", views.my_requests, name="my-requests"),
    path("my-requests/sign-out/", views.sign_out, name="sign-out"),
]
