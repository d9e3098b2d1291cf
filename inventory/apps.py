from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InventoryConfig(AppConfig):
    name = "inventory"
    verbose_name = _("Parts and stock")

    def ready(self):
        from notifications.services import templates_register

        from .reorder import MESSAGES

        templates_register(MESSAGES)
