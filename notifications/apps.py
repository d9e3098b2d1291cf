from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = capfirst(_("notifications"))

    def ready(self):
        from core.health import register_report
        from core.refcache import receiver_for

        from . import webhooks
        from .models import WebhookEndpoint
        from .selectors import outbox_backlog, outbox_ready
        from .services import templates_register

        register_report("outbox", outbox_backlog, outbox_ready)
        templates_register(webhooks.MESSAGES)
        bump = receiver_for(webhooks.ENDPOINTS)
        post_save.connect(bump, sender=WebhookEndpoint, weak=False, dispatch_uid="webhook-endpoints-saved")
        post_delete.connect(bump, sender=WebhookEndpoint, weak=False, dispatch_uid="webhook-endpoints-deleted")
