from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WorkordersConfig(AppConfig):
    name = "workorders"
    verbose_name = _("Work orders")

    def ready(self):
        from . import permissions  # noqa: F401 (registers the rules: core/permissions.py)
        from notifications.services import templates_register

        from . import checks  # noqa: F401 (registers them)
        from . import effects  # noqa: F401 (registers the lifecycle's hooks under their names)
        from .messages import MESSAGES, message_context

        templates_register(MESSAGES, context=message_context)
