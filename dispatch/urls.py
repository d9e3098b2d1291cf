from django.urls import path

from . import views

app_name = "dispatch"
urlpatterns = [
    path("", views.board_page, name="board"),
    path("board.json", views.board_data, name="board-data"),
    path("auto-assign/", views.auto_assign_action, name="auto-assign"),
    path("work-orders/<int:pk>/candidates/", views.candidates_page, name="candidates"),
    path("work-orders/<int:pk>/assign/", views.assign_action, name="assign"),
]
