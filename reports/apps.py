from django.apps import AppConfig
from django.db.models.signals import post_save
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = _("Reports")

    def ready(self):
        from . import permissions  # noqa: F401 (registers the rules: core/permissions.py)
        from workorders.models import WorkOrderEvent
        from workorders.services import work_order_inserting

        from .facts import new_order_row, on_event_saved

        # Each event (transition, survey answer, review) refreshes its order's figures after commit.
        post_save.connect(on_event_saved, sender=WorkOrderEvent, dispatch_uid="reports-fact-on-event")
        # A new order's figures are written by the statement that creates it (PostgreSQL).
        work_order_inserting.connect(new_order_row, dispatch_uid="reports-fact-on-new-order")
