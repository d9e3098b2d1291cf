import secrets

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .lifecycle import CUSTOMER_WORDING, Status


class ServiceType(models.Model):
    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=80)
    description = models.TextField(_("description"), blank=True)
    default_duration_minutes = models.PositiveIntegerField(_("default duration (minutes)"), default=60)
    callout_fee = models.DecimalField(_("call-out fee"), max_digits=10, decimal_places=2, default=0)
    requires_review = models.BooleanField(
        _("needs a manager's review"), default=False, help_text=_("Completion reports are reviewed before follow-up.")
    )
    active = models.BooleanField(_("active"), default=True)
    skills = models.ManyToManyField(
        "technicians.Skill", through="ServiceTypeSkill", related_name="service_types", blank=True
    )

    class Meta:
        verbose_name = _("service type")
        verbose_name_plural = _("service types")
        ordering = ["name"]
        constraints = [models.CheckConstraint(condition=Q(callout_fee__gte=0), name="service_type_fee_not_negative")]

    def __str__(self):
        return self.name


class ServiceTypeSkill(models.Model):
    service_type = models.ForeignKey(ServiceType, on_delete=models.CASCADE, related_name="required_skills")
    skill = models.ForeignKey("technicians.Skill", on_delete=models.PROTECT, related_name="+")
    min_level = models.PositiveSmallIntegerField(_("minimum level"), default=1)

    class Meta:
        verbose_name = _("required skill")
        verbose_name_plural = _("required skills")
        constraints = [
            models.UniqueConstraint(fields=["service_type", "skill"], name="service_type_skill_once"),
            models.CheckConstraint(condition=Q(min_level__gte=1, min_level__lte=5), name="service_type_skill_level"),
        ]

    def __str__(self):
        return f"{self.skill} ≥ L{self.min_level}"


def new_public_token() -> str:
    return secrets.token_urlsafe(18)


class WorkOrder(models.Model):
    class Priority(models.IntegerChoices):
        LOW = 1, _("Low")
        NORMAL = 2, _("Normal")
        HIGH = 3, _("High")
        URGENT = 4, _("Urgent")

    class Channel(models.TextChoices):
        WEB = "web", _("Web form")
        PHONE = "phone", _("Phone")
        API = "api", _("API")

    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.NEW)
    priority = models.PositiveSmallIntegerField(_("priority"), choices=Priority.choices, default=Priority.NORMAL)
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices, default=Channel.WEB)

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="work_orders", verbose_name=_("customer")
    )
    site = models.ForeignKey(
        "customers.Site", on_delete=models.SET_NULL, null=True, blank=True, related_name="work_orders",
        verbose_name=_("site"),
    )
    equipment = models.ForeignKey(
        "customers.Equipment", on_delete=models.SET_NULL, null=True, blank=True, related_name="work_orders",
        verbose_name=_("equipment"),
    )
    service_type = models.ForeignKey(
        ServiceType, on_delete=models.PROTECT, related_name="work_orders", verbose_name=_("service type")
    )
    # What the requester told us, as they told it (the customer record may change later).
    contact_name = models.CharField(_("contact name"), max_length=120)
    contact_phone = models.CharField(_("contact phone"), max_length=20)
    contact_email = models.EmailField(_("contact email"), blank=True)
    address = models.CharField(_("address"), max_length=255)
    description = models.TextField(_("problem description"))
    preferred_start = models.DateTimeField(_("preferred from"), null=True, blank=True)
    preferred_end = models.DateTimeField(_("preferred until"), null=True, blank=True)
    language = models.CharField(_("language"), max_length=10, default="zh-hans")

    technician = models.ForeignKey(
        "technicians.Technician", on_delete=models.PROTECT, null=True, blank=True, related_name="work_orders",
        verbose_name=_("technician"),
    )
    appointment_start = models.DateTimeField(_("appointment from"), null=True, blank=True)
    appointment_end = models.DateTimeField(_("appointment until"), null=True, blank=True)
    # The state a hold left from, so that resume can return there.
    hold_return_status = models.CharField(max_length=16, blank=True, editable=False)

    # The customer's private tracking link; unguessable, unlike the number.
    public_token = models.CharField(max_length=32, unique=True, default=new_public_token, editable=False)
    # Set by the public form and API clients: a replayed submission finds the first one.
    submission_key = models.UUIDField(null=True, blank=True, unique=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        db_index=False,
    )

    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    assigned_at = models.DateTimeField(null=True, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    arrived_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("work order")
        verbose_name_plural = _("work orders")
        ordering = ["-id"]
        indexes = [
            # Staff queue and API list filtered by status, newest first (keyset on id).
            models.Index(fields=["status", "id"], name="wo_status_id"),
            # The same queue sorted by priority.
            models.Index(fields=["status", "priority", "id"], name="wo_status_priority_id"),
            models.Index(fields=["priority", "id"], name="wo_priority_id"),
            # Created-date range filters and reports.
            models.Index(fields=["created_at"], name="wo_created_at"),
            # A technician's own jobs.
            models.Index(fields=["technician", "status"], name="wo_technician_status"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(preferred_start__isnull=True)
                | Q(preferred_end__isnull=True)
                | Q(preferred_end__gt=F("preferred_start")),
                name="wo_preferred_window_order",
            ),
            models.CheckConstraint(
                condition=Q(appointment_start__isnull=True)
                | Q(appointment_end__isnull=True)
                | Q(appointment_end__gt=F("appointment_start")),
                name="wo_appointment_window_order",
            ),
            models.CheckConstraint(condition=Q(status__in=Status.values), name="wo_status_known"),
            models.CheckConstraint(condition=Q(priority__gte=1, priority__lte=4), name="wo_priority_known"),
        ]

    def __str__(self):
        return self.number

    @property
    def number(self) -> str:
        """Human-facing number, e.g. WO-2026-000123 (year of creation, then the id)."""
        if self.pk is None:
            return "WO-new"
        year = timezone.localtime(self.created_at).year if self.created_at else timezone.now().year
        return f"WO-{year}-{self.pk:06d}"

    @property
    def customer_wording(self) -> str:
        return CUSTOMER_WORDING[Status(self.status)]

    @property
    def is_open(self) -> bool:
        from .lifecycle import OPEN_STATES

        return self.status in OPEN_STATES


def parse_number(text: str) -> int | None:
    """The id inside a work-order number (``WO-2026-000123`` -> 123), or None."""
    text = (text or "").strip().upper()
    if text.startswith("WO-"):
        parts = text.split("-")
        if len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit():
            return int(parts[2])
        return None
    return int(text) if text.isdigit() else None


class WorkOrderEvent(models.Model):
    """Append-only audit log: one row per transition (and the creation).

    Nothing updates or deletes these rows; on PostgreSQL a trigger enforces it.
    """

    work_order = models.ForeignKey(WorkOrder, on_delete=models.PROTECT, related_name="events")
    action = models.CharField(_("action"), max_length=24)
    from_status = models.CharField(_("from"), max_length=16, blank=True)
    to_status = models.CharField(_("to"), max_length=16)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+", db_index=False
    )
    # The role the actor acted in (or "customer"/"system" when no user acted).
    actor_role = models.CharField(_("acting as"), max_length=24, blank=True)
    note = models.TextField(_("note"), blank=True)
    latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(_("time"), default=timezone.now)

    class Meta:
        verbose_name = _("work-order event")
        verbose_name_plural = _("work-order events")
        ordering = ["work_order", "id"]
        indexes = [models.Index(fields=["work_order", "id"], name="wo_event_order")]

    def __str__(self):
        return f"{self.action}: {self.from_status or '∅'} → {self.to_status}"

    @property
    def to_label(self):
        return Status(self.to_status).label if self.to_status in Status.values else self.to_status

    @property
    def from_label(self):
        return Status(self.from_status).label if self.from_status in Status.values else self.from_status


def attachment_path(instance, filename):
    now = timezone.now()
    return f"workorders/{now:%Y/%m}/{secrets.token_hex(12)}.{instance.extension}"


class Attachment(models.Model):
    class Kind(models.TextChoices):
        CUSTOMER_PHOTO = "customer_photo", _("Customer photo")
        ONSITE_PHOTO = "onsite_photo", _("On-site photo")
        SIGNATURE = "signature", _("Signature")

    work_order = models.ForeignKey(WorkOrder, on_delete=models.CASCADE, related_name="attachments")
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.CUSTOMER_PHOTO)
    file = models.FileField(upload_to=attachment_path, max_length=200)
    content_type = models.CharField(max_length=40)
    size = models.PositiveIntegerField()
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    original_name = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        ordering = ["id"]

    EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}

    @property
    def extension(self) -> str:
        return self.EXTENSIONS.get(self.content_type, "bin")
