"""The customer's satisfaction survey, mounted at /survey/."""

from django.urls import path

from .views import survey as views_survey

app_name = "survey"
urlpatterns = [
    path("<slug:token>/", views_survey.survey_page, name="answer"),
]
