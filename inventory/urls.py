"""The stock pages, mounted at /staff/stock/."""

from django.urls import path

from . import views

app_name = "stock"
urlpatterns = [
    path("", views.location_list, name="locations"),
    path("<int:pk>/", views.location_detail, name="location"),
    path("requests/", views.request_list, name="requests"),
    path("requests/<int:pk>/<str:action>/", views.request_action, name="request-action"),
    path("reorder/", views.reorder_list, name="reorder"),
]
