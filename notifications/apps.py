from django.apps import AppConfig
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = capfirst(_("notifications"))

    def ready(self):
        from core.health import register_report

        from .selectors import outbox_backlog, outbox_ready

        register_report("outbox", outbox_backlog, outbox_ready)
