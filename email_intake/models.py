"""Every email the intake took in, once per Message-ID, and what became of it."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class InboundEmail(models.Model):
    class Outcome(models.TextChoices):
        CREATED = "created", _("Work order created")
        NOTED = "noted", _("Added to a work order as a note")
        UNMATCHED = "unmatched", _("Waiting for an agent")
        HANDLED = "handled", _("Handled by an agent")

    # Unique: the same message delivered twice (a poll after a crash, the provider's retry) is taken once.
    message_id = models.CharField(_("Message-ID"), max_length=255, unique=True)
    sender = models.EmailField(_("from"), max_length=254)
    sender_name = models.CharField(_("sender's name"), max_length=120, blank=True)
    subject = models.CharField(_("subject"), max_length=255, blank=True)
    body = models.TextField(_("text"), blank=True)
    received_at = models.DateTimeField(_("received"), default=timezone.now, db_index=True)
    source = models.CharField(_("received through"), max_length=16)  # "imap" or "webhook"
    outcome = models.CharField(_("outcome"), max_length=16, choices=Outcome.choices)
    reason = models.CharField(_("why"), max_length=255, blank=True)
    work_order = models.ForeignKey(
        "workorders.WorkOrder", on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        verbose_name=_("work order"),
    )
    photos = models.PositiveSmallIntegerField(_("photos kept"), default=0)
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("handled by"),
    )

    class Meta:
        verbose_name = _("inbound email")
        verbose_name_plural = _("inbound emails")
        ordering = ["-received_at"]
        indexes = [
            # The per-sender limit (services.RATE) and the agents' list of what waits for them.
            models.Index(fields=["sender", "received_at"], name="inbound_email_sender"),
            models.Index(fields=["outcome", "received_at"], name="inbound_email_outcome"),
        ]

    def __str__(self):
        return f"{self.sender}: {self.subject}"
