import secrets

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _

from core.choices import Priority
from sla.models import SlaTarget

from .lifecycle import CUSTOMER_WORDING, Status


def new_public_token() -> str:
    return secrets.token_urlsafe(18)


class WorkOrder(models.Model):
    Priority = Priority  # core/choices.py; also reachable as WorkOrder.Priority

    class Channel(models.TextChoices):
        WEB = "web", _("Web form")
        PHONE = "phone", _("Phone")
        API = "api", _("API")
        EMAIL = "email", _("Email")
        # Created ahead by a preventive-maintenance plan (maintenance.services.plans_sweep).
        MAINTENANCE = "maint", _("Maintenance plan")

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
        "catalog.ServiceType", on_delete=models.PROTECT, related_name="work_orders", verbose_name=_("service type")
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
        db_index=False,  # wo_technician_id (technician, id) serves lookups by technician too
    )
    appointment_start = models.DateTimeField(_("appointment from"), null=True, blank=True)
    appointment_end = models.DateTimeField(_("appointment until"), null=True, blank=True)
    # The state a hold left from, so that resume can return there.
    hold_return_status = models.CharField(max_length=16, blank=True, editable=False)

    # The order's number in another system (a CRM's case, an ERP's job): set and filtered on by
    # integrations through the API; none (NULL) or unique.
    external_ref = models.CharField(
        _("external reference"), max_length=100, null=True, blank=True, unique=True,
        help_text=_("This work order's reference in another system (CRM, ERP); unique when set."),
    )
    # The customer's private tracking link; unguessable, unlike the number.
    public_token = models.CharField(max_length=32, unique=True, default=new_public_token, editable=False)
    # Set by the public form and API clients: a replayed submission finds the first one.
    submission_key = models.UUIDField(null=True, blank=True, unique=True, editable=False)
    # What was submitted with the key (the API: a hash of the request's body), so that the key
    # sent again with something else is refused rather than answered with this order.
    submission_hash = models.CharField(max_length=64, blank=True, default="", db_default="", editable=False)
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

    # What covered the order when it was created (contracts.selectors.coverage_for), kept so that
    # later edits to the contract or the warranty date change no order: the contract, or
    # "warranty", the share of the price covered (100: free) and the last day of that cover.
    contract = models.ForeignKey(
        "contracts.Contract", on_delete=models.PROTECT, null=True, blank=True, related_name="work_orders",
        verbose_name=_("contract"), editable=False,
    )
    coverage = models.CharField(
        _("covered by"), max_length=10, blank=True, default="", db_default="", editable=False,
        choices=[("contract", _("Contract")), ("warranty", _("Warranty"))],
    )
    coverage_percent = models.PositiveSmallIntegerField(
        _("covered share (%)"), default=0, db_default=0, editable=False
    )
    coverage_until = models.DateField(_("covered until"), null=True, blank=True, editable=False)

    # The service type's custom fields asked at intake (catalog.CustomField, checked by
    # catalog.custom_fields.custom_values_clean), by key. Indexed for containment queries.
    custom = models.JSONField(_("custom fields"), default=dict, db_default={}, blank=True)

    # SLA clock (workorders/sla.py keeps these up to date on every transition).
    sla_policy = models.ForeignKey(
        "sla.SlaPolicy", on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        verbose_name=_("SLA policy"), db_index=False, editable=False,
    )
    # Where the clock started (creation, or the last reopen) and which run of it this is.
    sla_started_at = models.DateTimeField(_("SLA clock started"), null=True, blank=True, editable=False)
    sla_cycle = models.PositiveSmallIntegerField(default=1, editable=False)
    first_response_due = models.DateTimeField(
        _("first response due"), null=True, blank=True, editable=False, db_index=True
    )
    arrival_due = models.DateTimeField(
        _("arrival due"), null=True, blank=True, editable=False, db_index=True
    )
    resolution_due = models.DateTimeField(
        _("resolution due"), null=True, blank=True, editable=False, db_index=True
    )
    first_response_met_at = models.DateTimeField(_("first response made"), null=True, blank=True, editable=False)
    arrival_met_at = models.DateTimeField(_("arrived"), null=True, blank=True, editable=False)
    resolution_met_at = models.DateTimeField(_("resolution made"), null=True, blank=True, editable=False)
    # Time on hold does not count: business seconds spent paused so far, and the current pause.
    sla_paused_seconds = models.PositiveIntegerField(_("business time on hold (s)"), default=0, editable=False)
    sla_paused_at = models.DateTimeField(_("SLA clock paused at"), null=True, blank=True, editable=False)
    sla_pause_reason = models.CharField(_("pause reason"), max_length=200, blank=True, editable=False)
    # The earliest moment an escalation level is due; NULL when nothing can escalate
    # (no SLA, paused, every target met, or the order is no longer open).
    next_escalation_at = models.DateTimeField(null=True, blank=True, editable=False)

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
            # The API's lists sorted by a moment, for integrations syncing what changed
            # (?sort=-updated_at&updated_after=...: keyset on (moment, id)).
            models.Index(fields=["updated_at", "id"], name="wo_updated_at_id"),
            models.Index(fields=["created_at", "id"], name="wo_created_at_id"),
            # A technician's own jobs.
            models.Index(fields=["technician", "status"], name="wo_technician_status"),
            # A technician's (or a technician filter's) queue, newest first (keyset on id):
            # without it PostgreSQL walked the primary key backwards past every other
            # technician's orders (300 ms for one with few orders among 1,000,000).
            models.Index(fields=["technician", "id"], name="wo_technician_id"),
            # The escalation sweep (workorders.sla.escalation_sweep):
            #   WHERE next_escalation_at <= now ORDER BY next_escalation_at FOR UPDATE SKIP LOCKED
            # Only orders with something left to escalate are in it, so the sweep's cost
            # follows what is due, not the size of the table.
            models.Index(
                fields=["next_escalation_at"], name="wo_next_escalation_due",
                condition=Q(next_escalation_at__isnull=False),
            ),
            # The dispatch board's unassigned queue (dispatch.selectors.unassigned_queue), in its
            # order: the 200 most urgent are read off the index instead of sorting every waiting
            # order (2.1 s cold, 1 s warm with 30,000 waiting among 1,000,000; issue 21's day).
            models.Index(
                fields=["-priority", "first_response_due", "created_at", "id"], name="wo_unassigned_queue",
                condition=Q(status="new", technician__isnull=True),
            ),
            # Orders by a custom field's value: WHERE custom @> '{"floor": 3}' (jsonb_path_ops
            # serves @> only, at a third of the default operator class's size).
            GinIndex(fields=["custom"], name="wo_custom", opclasses=["jsonb_path_ops"]),
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

    @property
    def coverage_reason(self) -> str:
        """Why the order is priced as it is: "Contract C-2026-014", "Under warranty until ...", or ""."""
        from django.utils import formats
        from django.utils.translation import gettext

        if self.coverage == "contract" and self.contract_id:
            text = gettext("Contract %(number)s") % {"number": self.contract.number}
        elif self.coverage == "warranty":
            text = gettext("Under warranty until %(day)s") % {
                "day": formats.date_format(self.coverage_until, "SHORT_DATE_FORMAT")}
        else:
            return ""
        if self.coverage_percent < 100:
            text += " · " + gettext("%(p)d%% off") % {"p": self.coverage_percent}
        return text

    @cached_property
    def sla_targets(self) -> list:
        """Each SLA target's state (on track, at risk, breached, met...), see ``workorders.sla.target_states``."""
        from .sla import target_states

        return target_states(self)


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
        BEFORE_PHOTO = "before_photo", _("Photo before the work")

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




# --- Escalations fired (workorders/sla.py); calendars, policies and matrices are the app sla ---


class Escalation(models.Model):
    """One escalation level fired for one target of one work order; never twice (unique)."""

    work_order = models.ForeignKey(WorkOrder, on_delete=models.CASCADE, related_name="escalations")
    cycle = models.PositiveSmallIntegerField(default=1)
    target = models.CharField(_("target"), max_length=16, choices=SlaTarget.choices)
    level = models.ForeignKey("sla.EscalationLevel", on_delete=models.PROTECT, related_name="+", verbose_name=_("level"))
    percent = models.PositiveSmallIntegerField(_("at %"))
    due_at = models.DateTimeField(_("due at"))
    fired_at = models.DateTimeField(_("fired at"), default=timezone.now)
    acknowledged_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", db_index=False
    )

    class Meta:
        verbose_name = _("escalation")
        verbose_name_plural = _("escalations")
        ordering = ["-fired_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["work_order", "cycle", "target", "level"], name="escalation_once"),
        ]
        indexes = [
            # The managers' list of open (unacknowledged) escalations, newest first.
            models.Index(fields=["-fired_at"], name="escalation_open", condition=Q(acknowledged_at__isnull=True)),
        ]

    def __str__(self):
        return f"{self.work_order} {self.get_target_display()} {self.percent}%"


# --- Satisfaction survey (workorders/survey.py) -------------------------------------------


def new_survey_token() -> str:
    return secrets.token_urlsafe(24)


class Survey(models.Model):
    class State(models.TextChoices):
        OPEN = "open", _("Waiting for an answer")
        ANSWERED = "answered", _("Answered")
        EXPIRED = "expired", _("Expired")
        VOID = "void", _("Replaced")

    class Outcome(models.TextChoices):
        CLOSED = "close", _("Closed")
        REOPENED = "reopen", _("Reopened")

    work_order = models.ForeignKey(WorkOrder, on_delete=models.CASCADE, related_name="surveys")
    token = models.CharField(max_length=48, unique=True, default=new_survey_token, editable=False)
    language = models.CharField(_("language"), max_length=10, default="zh-hans")
    status = models.CharField(_("status"), max_length=8, choices=State.choices, default=State.OPEN)
    created_at = models.DateTimeField(_("sent"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires"))
    reminder_sent_at = models.DateTimeField(_("reminder sent"), null=True, blank=True)
    answered_at = models.DateTimeField(_("answered"), null=True, blank=True)
    satisfaction = models.PositiveSmallIntegerField(_("satisfaction (1–5)"), null=True, blank=True)
    solved = models.BooleanField(_("problem solved"), null=True, blank=True)
    recommend = models.PositiveSmallIntegerField(_("would recommend (0–10)"), null=True, blank=True)
    comment = models.TextField(_("comment"), blank=True)
    # A low answer puts the order in front of a manager for a call-back.
    needs_callback = models.BooleanField(_("needs a call-back"), default=False)
    callback_at = models.DateTimeField(_("called back"), null=True, blank=True)
    callback_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", db_index=False,
        verbose_name=_("called back by"),
    )
    callback_note = models.TextField(_("call-back note"), blank=True)
    callback_outcome = models.CharField(_("outcome"), max_length=8, choices=Outcome.choices, blank=True)

    class Meta:
        verbose_name = _("satisfaction survey")
        verbose_name_plural = _("satisfaction surveys")
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(satisfaction__isnull=True) | Q(satisfaction__gte=1, satisfaction__lte=5),
                name="survey_satisfaction_1_5",
            ),
            models.CheckConstraint(
                condition=Q(recommend__isnull=True) | Q(recommend__gte=0, recommend__lte=10),
                name="survey_recommend_0_10",
            ),
        ]
        indexes = [
            # The survey sweep: expiry and the one reminder, over open surveys only.
            models.Index(fields=["expires_at"], name="survey_open_expiry", condition=Q(status="open")),
            models.Index(
                fields=["created_at"], name="survey_open_no_reminder",
                condition=Q(status="open", reminder_sent_at__isnull=True),
            ),
            # Managers' call-back list.
            models.Index(fields=["answered_at"], name="survey_callback_due",
                         condition=Q(needs_callback=True, callback_at__isnull=True)),
        ]

    def __str__(self):
        return f"{self.work_order} ({self.get_status_display()})"

    @property
    def is_low(self) -> bool:
        return self.satisfaction is not None and (self.satisfaction <= 2 or self.solved is False)
