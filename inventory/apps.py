from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InventoryConfig(AppConfig):
    name = "inventory"
    verbose_name = _("Parts and stock")

    def ready(self):
        from . import permissions  # noqa: F401 (registers the rules: core/permissions.py)
        from notifications.services import templates_register

        from .reorder import MESSAGES

        templates_register(MESSAGES)
