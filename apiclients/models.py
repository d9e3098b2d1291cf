"""API clients: an integration (an ERP, a CRM, a call centre) that calls the API as itself.

Each client has a service user (role ``integration``, no password: it signs in only with the
client's key) that the work orders' events name as their actor, scopes (read or write per
resource), an optional restriction to one partner company or one customer, and a rate limit.
Its keys are djangorestframework-api-key's: shown once, stored hashed (``prefix.secret``, the
secret checked against a SHA-512 hash), revocable and with an optional expiry (a rotated key's
grace period).
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from rest_framework_api_key.models import AbstractAPIKey, BaseAPIKeyManager

# The resources a scope names, each read or write (write includes read); an endpoint of the API
# belongs to one of them (apiclients.auth.RESOURCE_OF_URL), and one that belongs to none is refused.
RESOURCES = {
    "work_orders": _("Work orders"),
    "customers": _("Customers"),
    "technicians": _("Technicians"),
    "service_types": _("Service types"),
    "parts": _("Parts"),
    "stock": _("Stock"),
    "invoicing": _("Invoicing"),
    "triage": _("Triage suggestions"),
}
READ, WRITE = "read", "write"
SCOPE_CHOICES = [
    (f"{resource}:{access}", f"{label} · {_('read') if access == READ else _('read and write')}")
    for resource, label in RESOURCES.items()
    for access in (READ, WRITE)
]


class ApiClient(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True,
                            help_text=_("Shown as the actor of what the client does, e.g. “ERP”."))
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="api_client",
                                editable=False, verbose_name=_("service user"))
    scopes = models.JSONField(_("scopes"), default=list, blank=True,
                              help_text=_("Resources the client may read, or read and write."))
    partner_company = models.ForeignKey(
        "technicians.PartnerCompany", on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        verbose_name=_("only this partner company"),
        help_text=_("The client sees only this company's technicians, work orders and stock."),
    )
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        verbose_name=_("only this customer"), help_text=_("The client sees only this customer's work orders."),
    )
    requests_per_minute = models.PositiveIntegerField(
        _("requests per minute"), default=600, help_text=_("More answer 429 with Retry-After."))
    active = models.BooleanField(_("active"), default=True,
                                 help_text=_("An inactive client's keys answer 401."))
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("API client")
        verbose_name_plural = _("API clients")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(partner_company__isnull=True) | Q(customer__isnull=True),
                                   name="apiclient_one_restriction"),
            models.CheckConstraint(condition=Q(requests_per_minute__gte=1), name="apiclient_rate_positive"),
        ]

    def __str__(self):
        return self.name

    def allows(self, resource: str, write: bool) -> bool:
        scopes = self.scopes or []
        return f"{resource}:{WRITE}" in scopes or (not write and f"{resource}:{READ}" in scopes)


class ApiKeyManager(BaseAPIKeyManager):
    pass


class ApiKey(AbstractAPIKey):
    """One key of a client (the library's fields: prefix, hashed key, name, revoked, expiry)."""

    client = models.ForeignKey(ApiClient, on_delete=models.CASCADE, related_name="keys",
                               verbose_name=_("API client"))

    objects = ApiKeyManager()

    class Meta(AbstractAPIKey.Meta):
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")
