from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MaintenanceConfig(AppConfig):
    name = "maintenance"
    verbose_name = _("Preventive maintenance")

    def ready(self):
        from . import permissions  # noqa: F401 (registers the rules: core/permissions.py)
