from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WorkordersConfig(AppConfig):
    name = "workorders"
    verbose_name = _("Work orders")

    def ready(self):
        from core.health import register_report

        from . import checks  # noqa: F401 (registers them)
        from .notifications import MESSAGES, message_context, templates_register
        from .selectors import outbox_backlog

        register_report("outbox", outbox_backlog)
        templates_register(MESSAGES, context=message_context)
