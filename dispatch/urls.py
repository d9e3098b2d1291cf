from django.urls import path

from . import views

app_name = "dispatch"
urlpatterns = [
    path("", views.board_page, name="board"),
    path("board.json", views.board_data, name="board-data"),
    path("auto-assign/", views.auto_assign_page, name="auto-assign"),
    path("auto-assign/<slug:batch>/", views.auto_assign_run_page, name="auto-assign-run"),
    path("auto-assign/<slug:batch>/undo/", views.auto_assign_undo_action, name="auto-assign-undo"),
    path("work-orders/<int:pk>/candidates/", views.candidates_page, name="candidates"),
    path("work-orders/<int:pk>/assign/", views.assign_action, name="assign"),
    path("work-orders/<int:pk>/drop/", views.drop_action, name="drop"),
    path("work-orders/<int:pk>/location/", views.place_action, name="place"),
]
