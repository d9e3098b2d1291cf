from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SelfServiceConfig(AppConfig):
    """What a customer can do without an account (docs/architecture.md): from a request's private
    tracking link, cancel it, add a note or photos, move the visit to another offered window; and,
    with a phone number verified by an SMS code, list their requests. Every change goes through
    the work orders' services; the windows come from dispatch, so the app sits above both."""

    name = "selfservice"
    verbose_name = _("Customer self-service")

    def ready(self):
        from notifications.services import templates_register
        from workorders.selectors import register_customer_page_part

        from .selectors import MESSAGES, self_service_part

        templates_register(MESSAGES)
        # The tracking page's links to what the customer may do with the order now.
        register_customer_page_part(self_service_part)
