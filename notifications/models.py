"""The outbox: one row per message to send (notifications/services.py)."""

import uuid

from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.functions import RandomUUID
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Notification(models.Model):
    """One message to send, written in the same transaction as the change that causes it."""

    class Channel(models.TextChoices):
        EMAIL = "email", _("Email")
        SMS = "sms", _("SMS")
        WEBHOOK = "webhook", _("Group robot (webhook)")
        # A registered webhook endpoint (``WebhookEndpoint``, its id in ``recipient``): a signed
        # JSON event, notifications/webhooks.py.
        ENDPOINT = "endpoint", _("Webhook endpoint")

    class State(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    # What the message is about, by its id (no foreign key: the outbox knows no work order;
    # today every subject is one, hence the label). The column keeps its name, and so does
    # the index ``notification_work_order``.
    subject_id = models.BigIntegerField(_("work order"), null=True, blank=True, db_column="work_order_id")
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices)
    recipient = models.CharField(
        _("recipient"), max_length=254, blank=True,
        help_text=_("Email, phone number or webhook URL; empty: the configured group robot."),
    )
    template = models.CharField(_("template"), max_length=40)
    language = models.CharField(_("language"), max_length=10, default="zh-hans")
    payload = models.JSONField(default=dict, blank=True)
    status = models.CharField(_("status"), max_length=8, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    # Pending: when to try (again). Sending: when the claim lapses (a worker died mid-send).
    next_attempt_at = models.DateTimeField(_("next attempt"), default=timezone.now)
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    # Makes a repeat of the same message a no-op (e.g. one survey reminder).
    dedupe_key = models.CharField(max_length=80, null=True, blank=True, unique=True, editable=False)
    # Sent with every attempt to deliver this message (the SMS provider's and the webhook's
    # Idempotency-Key header, the email's Message-ID), so that a provider can recognise a
    # message sent again after a worker died between its answer and our record of it.
    # (Null in rows written before it existed: those use one derived from the id, notifications/services.py.)
    delivery_key = models.UUIDField(
        _("delivery key"), null=True, default=uuid.uuid4, db_default=RandomUUID(), editable=False
    )

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        db_table = "workorders_notification"  # where it was made (issue 13 moved the model here)
        ordering = ["-id"]
        indexes = [
            # The retry sweep: WHERE status IN ('pending','sending') AND next_attempt_at <= now.
            models.Index(
                fields=["next_attempt_at"], name="notification_due",
                condition=Q(status__in=["pending", "sending"]),
            ),
            models.Index(fields=["subject_id", "id"], name="notification_work_order"),
            # /readyz (notifications.selectors.outbox_backlog): how many are waiting and since when,
            # and how many failed, without reading the sent ones.
            # (Without the webhook endpoints' rows, counted apart: a partner's receiver being down
            # is not our backlog.)
            models.Index(fields=["created_at"], name="notification_waiting",
                         condition=Q(status="pending") & ~Q(channel="endpoint")),
            models.Index(fields=["created_at"], name="notification_endpoint_pending",
                         condition=Q(status="pending", channel="endpoint")),
            models.Index(fields=["created_at"], name="notification_failed", condition=Q(status="failed")),
        ]

    def __str__(self):
        return f"{self.template} → {self.get_channel_display()} {self.recipient}"


class WebhookEndpoint(models.Model):
    """A receiver an administrator registered: the events it wants are delivered to ``url``
    through the outbox, signed with ``secret`` (Standard Webhooks, notifications/webhooks.py)."""

    class Event(models.TextChoices):
        WORK_ORDER_CREATED = "workorder.created", _("Work order created")
        WORK_ORDER_ASSIGNED = "workorder.assigned", _("Work order assigned")
        WORK_ORDER_STATUS_CHANGED = "workorder.status_changed", _("Work order status changed")
        WORK_ORDER_COMPLETED = "workorder.completed", _("Work order completed")
        WORK_ORDER_CLOSED = "workorder.closed", _("Work order closed")
        SURVEY_ANSWERED = "survey.answered", _("Survey answered")
        ESCALATION_RAISED = "escalation.raised", _("Escalation raised")
        PART_USED = "part.used", _("Part used")

    name = models.CharField(_("name"), max_length=100)
    url = models.URLField(_("URL"), max_length=500)
    # "whsec_" and the key in base64, as Standard Webhooks writes it; shown once, when made.
    secret = models.CharField(_("secret"), max_length=100, editable=False)
    events = ArrayField(models.CharField(max_length=40, choices=Event.choices), verbose_name=_("events"))
    is_active = models.BooleanField(_("active"), default=True)
    contact_email = models.EmailField(
        _("contact email"), blank=True, help_text=_("Told when the endpoint is disabled (besides its creator).")
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+", verbose_name=_("created by"), editable=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    # The first failed attempt since the last success; failing for WEBHOOK_DISABLE_AFTER_SECONDS disables it.
    failing_since = models.DateTimeField(_("failing since"), null=True, blank=True, editable=False)
    disabled_at = models.DateTimeField(_("disabled"), null=True, blank=True, editable=False)
    disabled_reason = models.TextField(_("why disabled"), blank=True, editable=False)

    class Meta:
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")
        ordering = ["name", "id"]

    def __str__(self):
        return self.name


class WebhookDelivery(Notification):
    """The outbox rows of webhook endpoints, for their delivery log in admin."""

    class Meta:
        proxy = True
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ["-id"]


class WebhookAttempt(models.Model):
    """One attempt to deliver a webhook (the delivery log): what the receiver answered."""

    delivery = models.ForeignKey(Notification, on_delete=models.CASCADE, related_name="webhook_attempts",
                                 verbose_name=_("delivery"))
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="attempts",
                                 verbose_name=_("endpoint"))
    attempted_at = models.DateTimeField(_("attempted"), default=timezone.now)
    status_code = models.PositiveSmallIntegerField(_("status code"), null=True, blank=True)
    response_body = models.TextField(_("response (truncated)"), blank=True)
    error = models.TextField(_("error"), blank=True)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), default=0)

    class Meta:
        verbose_name = _("webhook attempt")
        verbose_name_plural = _("webhook attempts")
        ordering = ["-id"]
        indexes = [models.Index(fields=["delivery", "id"], name="webhook_attempt_delivery")]

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300
