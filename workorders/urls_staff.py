from django.urls import path

from .views import staff as views_staff

app_name = "staff"
urlpatterns = [
    path("", views_staff.workorder_list_page, name="list"),
    path("search/", views_staff.search_page, name="search"),
    path("<int:pk>/", views_staff.workorder_detail_page, name="detail"),
    path("<int:pk>/transition/", views_staff.workorder_transition_page, name="transition"),
]
