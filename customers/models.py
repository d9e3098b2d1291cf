from django.contrib.postgres.indexes import GinIndex, OpClass
from django.db import models
from django.db.models.functions import Upper
from django.db.models import F, Q
from django.db.models.functions import Now
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.choices import CustomerTier, LocationPrecision


def _external_ref():
    """For integrations (the API): the row's reference in their system, unique per kind of row."""
    return models.CharField(
        _("external reference"), max_length=100, null=True, blank=True, unique=True,
        help_text=_("This row's reference in another system (CRM, ERP); unique when set."),
    )


# The moments an integration syncs by (the API's updated_after, sort=updated_at). The database
# default (now()) fills rows written by raw SQL (bulk loads, benchmarks) and the rows that
# existed before these columns did.
def _created_at(*, editable: bool = True):
    return models.DateTimeField(_("created"), default=timezone.now, db_default=Now(), editable=editable)


def _updated_at():
    return models.DateTimeField(_("updated"), auto_now=True, db_default=Now())


class Customer(models.Model):
    Tier = CustomerTier  # core/choices.py; also reachable as Customer.Tier

    # The customer's number in the company's own records: imports match rows on it (customers/resources.py).
    code = models.CharField(_("customer code"), max_length=40, unique=True, null=True, blank=True)
    name = models.CharField(_("name"), max_length=120)
    # E.164 form (+8613812345678): a repeat caller is recognised by this number.
    phone = models.CharField(_("mobile phone"), max_length=20, unique=True)
    email = models.EmailField(_("email"), blank=True)
    tier = models.CharField(_("tier"), max_length=16, choices=Tier.choices, default=Tier.STANDARD)
    language = models.CharField(_("language"), max_length=10, default="zh-hans")
    notes = models.TextField(_("notes"), blank=True)
    created_at = _created_at()
    updated_at = _updated_at()
    external_ref = _external_ref()

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        ordering = ["name"]
        permissions = [("import_customer", _("Can import customers")), ("export_customer", _("Can export customers"))]
        # The staff search (customers/selectors.py): a fragment of a name or a number.
        indexes = [
            GinIndex(OpClass(Upper("name"), name="gin_trgm_ops"), name="customer_name_trgm"),
            GinIndex(fields=["phone"], opclasses=["gin_trgm_ops"], name="customer_phone_trgm"),
            # The customer search page (customer360): a fragment of a customer code.
            GinIndex(OpClass(Upper("code"), name="gin_trgm_ops"), name="customer_code_trgm"),
            # Email intake (email_intake/): the sender of a new email is found by address, any letter case.
            models.Index(Upper("email"), name="customer_email_upper"),
            # The API's sync reads (sort=updated_at / created_at, ties by id).
            models.Index(fields=["updated_at", "id"], name="customer_updated_at_id"),
            models.Index(fields=["created_at", "id"], name="customer_created_at_id"),
        ]

    def __str__(self):
        return f"{self.name} ({self.phone})"


class Site(models.Model):
    Precision = LocationPrecision

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="sites", verbose_name=_("customer"))
    label = models.CharField(_("label"), max_length=80, blank=True)
    address = models.CharField(_("address"), max_length=255)
    city = models.CharField(_("city"), max_length=80, blank=True)
    latitude = models.DecimalField(_("latitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(_("longitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    # Written after commit by the geocoding task (core/geocoding.py), never on the request path.
    location_precision = models.CharField(
        _("location precision"), max_length=10, choices=LocationPrecision.choices,
        default=LocationPrecision.PENDING, db_default=LocationPrecision.PENDING,
    )
    # province / city / district as the geocoder read them, e.g. "上海市 浦东新区".
    location_area = models.CharField(_("area found"), max_length=80, blank=True, default="", db_default="")
    located_at = models.DateTimeField(_("located"), null=True, blank=True)
    created_at = _created_at(editable=False)
    updated_at = _updated_at()
    external_ref = _external_ref()

    @staticmethod
    def normalize_address(address: str) -> str:
        """An address as a site keeps it: runs of spaces as one, none at the ends."""
        return " ".join(address.split())

    class Meta:
        verbose_name = _("site")
        verbose_name_plural = _("sites")
        permissions = [("import_site", _("Can import sites")), ("export_site", _("Can export sites"))]
        ordering = ["customer", "id"]
        indexes = [
            GinIndex(OpClass(Upper("address"), name="gin_trgm_ops"), name="site_address_trgm"),
            # The geocoding sweep (customers.services.sites_geocode_pending): the sites not located yet.
            models.Index(fields=["id"], condition=Q(location_precision="pending"), name="site_location_pending"),
            models.Index(fields=["updated_at", "id"], name="site_updated_at_id"),
            models.Index(fields=["created_at", "id"], name="site_created_at_id"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(latitude__isnull=True) | Q(latitude__gte=-90, latitude__lte=90),
                name="site_latitude_range",
            ),
            models.CheckConstraint(
                condition=Q(longitude__isnull=True) | Q(longitude__gte=-180, longitude__lte=180),
                name="site_longitude_range",
            ),
        ]

    def __str__(self):
        return f"{self.label or self.address}"


class Equipment(models.Model):
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="equipment", verbose_name=_("customer")
    )
    site = models.ForeignKey(
        Site, on_delete=models.SET_NULL, null=True, blank=True, related_name="equipment", verbose_name=_("site")
    )
    serial = models.CharField(_("serial number"), max_length=64, unique=True)
    brand = models.CharField(_("brand"), max_length=64, blank=True)
    model = models.CharField(_("model"), max_length=64)
    install_date = models.DateField(_("install date"), null=True, blank=True)
    warranty_end = models.DateField(_("warranty end"), null=True, blank=True)
    active = models.BooleanField(
        _("in service"), default=True, db_default=True,
        help_text=_("Untick when the equipment is retired: its QR label then says so, and no new work order can name it."),
    )
    created_at = _created_at(editable=False)
    updated_at = _updated_at()
    external_ref = _external_ref()

    class Meta:
        verbose_name = _("equipment")
        verbose_name_plural = _("equipment")
        permissions = [("import_equipment", _("Can import equipment")), ("export_equipment", _("Can export equipment"))]
        ordering = ["customer", "serial"]
        indexes = [
            GinIndex(OpClass(Upper("serial"), name="gin_trgm_ops"), name="equipment_serial_trgm"),
            models.Index(fields=["updated_at", "id"], name="equipment_updated_at_id"),
            models.Index(fields=["created_at", "id"], name="equipment_created_at_id"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(install_date__isnull=True)
                | Q(warranty_end__isnull=True)
                | Q(warranty_end__gte=F("install_date")),
                name="equipment_warranty_after_install",
            ),
        ]

    def __str__(self):
        return f"{self.brand} {self.model} #{self.serial}".strip()

    @property
    def under_warranty(self) -> bool:
        return bool(self.warranty_end and self.warranty_end >= timezone.localdate())
