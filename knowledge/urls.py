"""Knowledge base, mounted at /kb/."""

from django.urls import path

from . import views

app_name = "knowledge"
urlpatterns = [
    path("", views.index, name="index"),
    path("suggest/", views.suggest, name="suggest"),
    path("<int:pk>/", views.article_detail, name="detail"),
    path("<int:pk>/helpful/", views.article_helpful, name="helpful"),
]
