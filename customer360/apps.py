from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class Customer360Config(AppConfig):
    """The staff's whole picture of one customer and of one piece of equipment (docs/architecture.md):
    pages that read customers, work orders, surveys, escalations and completion reports together, so
    they sit above all of them, beside ``field`` and ``reports``."""

    name = "customer360"
    verbose_name = _("Customer 360")
