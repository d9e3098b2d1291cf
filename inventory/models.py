"""Stock: where parts are (warehouses, technicians' vans, partner companies' stores), how many,
and every change as a row of the stock ledger.

``StockLevel`` holds the on-hand and reserved quantity of one part at one location; it is kept
in step with the ledger (``StockMove``) by ``inventory.services``, which writes both in one SQL
statement, so the sum of a location's moves of a part always equals its level. Reservations
belong to a work order, named by id (``work_order_id``: this app sits below ``workorders``,
docs/architecture.md); a work order's open reservations are the sum of its moves'
``reserved_delta`` per location and part.
"""

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

QUANTITY = {"max_digits": 12, "decimal_places": 3}


class StockLocation(models.Model):
    class Kind(models.TextChoices):
        WAREHOUSE = "warehouse", _("Warehouse")
        VAN = "van", _("Technician's van")
        PARTNER_STORE = "partner_store", _("Partner company's store")

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    technician = models.ForeignKey(
        "technicians.Technician", on_delete=models.PROTECT, null=True, blank=True, related_name="stock_locations",
        verbose_name=_("technician"), help_text=_("The van's technician (vans only)."),
    )
    partner_company = models.ForeignKey(
        "technicians.PartnerCompany", on_delete=models.PROTECT, null=True, blank=True,
        related_name="stock_locations", verbose_name=_("partner company"),
        help_text=_("The store's company (partner stores only)."),
    )
    latitude = models.DecimalField(_("latitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(_("longitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    active = models.BooleanField(
        _("active"), default=True, help_text=_("A deactivated location receives nothing; its stock can still leave.")
    )
    allow_negative = models.BooleanField(
        _("may go below zero"), default=False,
        help_text=_("Parts may be used or sent from here before their receipt is booked."),
    )

    class Meta:
        verbose_name = _("stock location")
        verbose_name_plural = _("stock locations")
        ordering = ["kind", "name"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=["warehouse", "van", "partner_store"]),
                                   name="stock_location_kind_known"),
            models.CheckConstraint(condition=~Q(kind="van") | Q(technician__isnull=False),
                                   name="stock_van_has_technician"),
            models.CheckConstraint(condition=Q(kind="van") | Q(technician__isnull=True),
                                   name="stock_only_vans_have_technician"),
            models.CheckConstraint(condition=~Q(kind="partner_store") | Q(partner_company__isnull=False),
                                   name="stock_partner_store_has_company"),
            # One active van per technician: assignment and completion look it up by technician.
            models.UniqueConstraint(fields=["technician"], condition=Q(kind="van", active=True),
                                    name="stock_one_active_van_per_technician"),
        ]

    def __str__(self):
        return self.name


class StockLevel(models.Model):
    """On hand and reserved of one part at one location (kept in step with the ledger)."""

    location = models.ForeignKey(StockLocation, on_delete=models.PROTECT, related_name="levels",
                                 verbose_name=_("location"))
    part = models.ForeignKey("catalog.Part", on_delete=models.PROTECT, related_name="stock_levels",
                             verbose_name=_("part"))
    on_hand = models.DecimalField(_("on hand"), default=0, **QUANTITY)
    reserved = models.DecimalField(_("reserved"), default=0, **QUANTITY)

    class Meta:
        verbose_name = _("stock level")
        verbose_name_plural = _("stock levels")
        ordering = ["location", "part"]
        constraints = [
            models.UniqueConstraint(fields=["location", "part"], name="stock_level_once"),
            models.CheckConstraint(condition=Q(reserved__gte=0), name="stock_reserved_not_negative"),
        ]
        indexes = [
            # A part across all locations (the dispatch candidates' vans, totals per part).
            models.Index(fields=["part", "location"], include=["on_hand", "reserved"], name="stock_level_by_part"),
        ]

    def __str__(self):
        return f"{self.location}: {self.part} {self.on_hand}"

    @property
    def available(self):
        return self.on_hand - self.reserved


class StockMove(models.Model):
    """One row of the stock ledger: a change of one part at one location."""

    class Kind(models.TextChoices):
        RECEIPT = "receipt", _("Receipt")
        TRANSFER_OUT = "transfer_out", _("Transfer out")
        TRANSFER_IN = "transfer_in", _("Transfer in")
        RESERVATION = "reservation", _("Reservation")
        RELEASE = "release", _("Release")
        USE = "use", _("Use on a job")
        RETURN = "return", _("Return")
        ADJUSTMENT = "adjustment", _("Adjustment")

    location = models.ForeignKey(StockLocation, on_delete=models.PROTECT, related_name="moves",
                                 verbose_name=_("location"))
    part = models.ForeignKey("catalog.Part", on_delete=models.PROTECT, related_name="stock_moves",
                             verbose_name=_("part"))
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    # Change of the on-hand quantity (negative when stock leaves) and of the reserved quantity.
    quantity = models.DecimalField(_("quantity"), default=0, **QUANTITY)
    reserved_delta = models.DecimalField(_("reserved change"), default=0, **QUANTITY)
    # The work order a reservation, use, release or return belongs to (by id: docs/architecture.md).
    work_order_id = models.BigIntegerField(_("work order"), null=True, blank=True)
    # The other end of a transfer.
    counterpart = models.ForeignKey(StockLocation, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="+", verbose_name=_("from / to"))
    serials = ArrayField(models.CharField(max_length=80), default=list, blank=True, verbose_name=_("serial numbers"))
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                              related_name="+", db_index=False, verbose_name=_("by"))
    created_at = models.DateTimeField(_("when"), default=timezone.now)

    class Meta:
        verbose_name = _("stock move")
        verbose_name_plural = _("stock ledger")
        ordering = ["-id"]
        indexes = [
            # A location's ledger, newest first (the stock page).
            models.Index(fields=["location", "-id"], name="stock_move_location"),
            # A work order's reservations (assignment, completion, cancellation).
            models.Index(fields=["work_order_id"], condition=Q(work_order_id__isnull=False),
                         name="stock_move_work_order"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=["receipt", "transfer_out", "transfer_in", "reservation", "release", "use",
                                      "return", "adjustment"]),
                name="stock_move_kind_known",
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.part_id} {self.quantity}"


class SerialUnit(models.Model):
    """One serial-numbered unit of a part: where it is, or the job it went into."""

    class Status(models.TextChoices):
        IN_STOCK = "in_stock", _("In stock")
        USED = "used", _("Used on a job")
        REMOVED = "removed", _("Written off")

    part = models.ForeignKey("catalog.Part", on_delete=models.PROTECT, related_name="serial_units",
                             verbose_name=_("part"))
    serial = models.CharField(_("serial number"), max_length=80)
    location = models.ForeignKey(StockLocation, on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="serial_units", verbose_name=_("location"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.IN_STOCK)
    work_order_id = models.BigIntegerField(_("work order"), null=True, blank=True)

    class Meta:
        verbose_name = _("serial-numbered unit")
        verbose_name_plural = _("serial-numbered units")
        ordering = ["part", "serial"]
        constraints = [
            models.UniqueConstraint(fields=["part", "serial"], name="stock_serial_once"),
            models.CheckConstraint(condition=~Q(status="in_stock") | Q(location__isnull=False),
                                   name="stock_serial_in_stock_has_location"),
        ]
        indexes = [models.Index(fields=["location", "part", "status"], name="stock_serial_at")]

    def __str__(self):
        return f"{self.part_id} #{self.serial}"


class PartRequest(models.Model):
    """A technician asks for parts (for a job, or to restock the van); a storekeeper or manager
    approves it from a source location and ships it; the technician confirms receipt.

    Shipping books the transfer out of the source; the parts are in transit (on this request, in
    no location's level) until the technician confirms receipt, which books them into the van
    (``inventory.requests``)."""

    class Status(models.TextChoices):
        REQUESTED = "requested", _("Requested")
        APPROVED = "approved", _("Approved")
        SHIPPED = "shipped", _("Shipped")
        RECEIVED = "received", pgettext_lazy("part request", "Received")
        REJECTED = "rejected", _("Rejected")
        CANCELLED = "cancelled", _("Cancelled")

    class Purpose(models.TextChoices):
        JOB = "job", _("For a job")
        RESTOCK = "restock", _("Restock the van")

    technician = models.ForeignKey("technicians.Technician", on_delete=models.PROTECT, related_name="part_requests",
                                   verbose_name=_("technician"))
    purpose = models.CharField(_("for"), max_length=8, choices=Purpose.choices)
    # The job the parts are for (by id: docs/architecture.md), for purpose "job".
    work_order_id = models.BigIntegerField(_("work order"), null=True, blank=True)
    destination = models.ForeignKey(StockLocation, on_delete=models.PROTECT, related_name="+",
                                    verbose_name=_("deliver to"), help_text=_("The technician's van."))
    source = models.ForeignKey(StockLocation, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                               verbose_name=_("ship from"), help_text=_("Chosen when the request is approved."))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.REQUESTED)
    note = models.CharField(_("note"), max_length=500, blank=True)
    reason = models.CharField(_("reason"), max_length=300, blank=True,
                              help_text=_("Why the request was rejected or cancelled."))
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                     verbose_name=_("requested by"))
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+", verbose_name=_("approved or rejected by"))
    shipped_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+", verbose_name=_("shipped by"))
    created_at = models.DateTimeField(_("requested at"), default=timezone.now)
    decided_at = models.DateTimeField(_("approved or rejected at"), null=True, blank=True)
    shipped_at = models.DateTimeField(_("shipped at"), null=True, blank=True)
    received_at = models.DateTimeField(_("received at"), null=True, blank=True)

    class Meta:
        verbose_name = _("part request")
        verbose_name_plural = _("part requests")
        ordering = ["-id"]
        permissions = [("handle_partrequest", _("Can approve, reject and ship part requests (storekeeper)"))]
        constraints = [
            models.CheckConstraint(condition=~Q(purpose="job") | Q(work_order_id__isnull=False),
                                   name="part_request_job_has_work_order"),
            models.CheckConstraint(
                condition=Q(status__in=["requested", "rejected", "cancelled"]) | Q(source__isnull=False),
                name="part_request_approved_has_source"),
        ]
        indexes = [
            models.Index(fields=["status", "-id"], name="part_request_status"),
            models.Index(fields=["technician", "-id"], name="part_request_technician"),
        ]

    def __str__(self):
        return _("Part request %(id)s") % {"id": self.pk}


class PartRequestLine(models.Model):
    request = models.ForeignKey(PartRequest, on_delete=models.CASCADE, related_name="lines",
                                verbose_name=_("part request"))
    part = models.ForeignKey("catalog.Part", on_delete=models.PROTECT, related_name="+", verbose_name=_("part"))
    quantity = models.DecimalField(_("quantity"), **QUANTITY)
    serials = ArrayField(models.CharField(max_length=80), default=list, blank=True,
                         verbose_name=_("serial numbers shipped"))

    class Meta:
        verbose_name = _("requested part")
        verbose_name_plural = _("requested parts")
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["request", "part"], name="part_request_line_once"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="part_request_line_positive"),
        ]

    def __str__(self):
        return f"{self.part_id} × {self.quantity}"


class ReorderPoint(models.Model):
    """Below ``point`` available (on hand less reserved) of a part at a location, it is to be reordered.

    ``below`` is kept by the stock write itself (``inventory.services._write``, in its one statement):
    it turns true when available falls below the point, which raises one notification, and false
    when stock is back at or above it, so the next fall raises the next one."""

    location = models.ForeignKey(StockLocation, on_delete=models.CASCADE, related_name="reorder_points",
                                 verbose_name=_("location"))
    part = models.ForeignKey("catalog.Part", on_delete=models.CASCADE, related_name="+", verbose_name=_("part"))
    point = models.DecimalField(_("reorder point"), **QUANTITY, validators=[MinValueValidator(0)],
                                help_text=_("Reorder when the available quantity falls below this."))
    quantity = models.DecimalField(_("reorder quantity"), **QUANTITY, validators=[MinValueValidator(0)],
                                   help_text=_("The least quantity to order at a time."))
    below = models.BooleanField(_("below the point"), default=False, editable=False)

    class Meta:
        verbose_name = _("reorder point")
        verbose_name_plural = _("reorder points")
        ordering = ["location", "part"]
        constraints = [
            models.UniqueConstraint(fields=["location", "part"], name="reorder_point_once"),
            models.CheckConstraint(condition=Q(point__gte=0) & Q(quantity__gte=0), name="reorder_point_not_negative"),
        ]

    def __str__(self):
        return f"{self.location}: {self.part} < {self.point}"
