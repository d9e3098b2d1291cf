from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EmailIntakeConfig(AppConfig):
    name = "email_intake"
    verbose_name = _("Email intake")
