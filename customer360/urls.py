from django.urls import path

from . import views

app_name = "c360"
urlpatterns = [
    path("customers/", views.search, name="search"),
    path("customers/<int:pk>/", views.customer, name="customer"),
    path("equipment/<int:pk>/", views.equipment, name="equipment"),
    path("sites/<int:pk>/labels.pdf", views.site_labels, name="site-labels"),
]
