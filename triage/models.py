"""Versions of the triage model (triage/learning.py), each with how well it did when trained."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class TriageModel(models.Model):
    """One training run: what it learned from, how it scored on the held-out rows, and the fitted
    model itself (pickled ``triage.learning.Fitted``).

    The model is kept in this row rather than in the file storage: it is small (a vocabulary and
    two coefficient matrices, some hundred kilobytes), it must change together with its version
    and figures in one transaction, every web process and worker already reads this database,
    and a backup of the database restores the model that its suggestions were made with.
    ``usable`` is false when there was too little to learn from: such a row says so and its
    ``model`` is empty.
    """

    version = models.PositiveIntegerField(_("version"), unique=True)
    trained_at = models.DateTimeField(_("trained at"))
    samples = models.PositiveIntegerField(_("orders learned from"))
    held_out = models.PositiveIntegerField(_("orders held out"), default=0)
    usable = models.BooleanField(_("usable"), default=False)
    # Why a run is not usable, in words for the managers.
    note = models.CharField(_("note"), max_length=300, blank=True)
    accuracy = models.FloatField(_("top-1 accuracy"), null=True, blank=True)
    accuracy_top3 = models.FloatField(_("top-3 accuracy"), null=True, blank=True)
    # Held-out figures per service type code: {"aircon-repair": {"n", "top1", "top3"}, ...}
    per_class = models.JSONField(_("accuracy per service type"), default=dict, blank=True)
    sklearn_version = models.CharField(max_length=20, blank=True)
    model = models.BinaryField(_("fitted model"), blank=True, default=b"", editable=False)

    class Meta:
        verbose_name = _("triage model")
        verbose_name_plural = _("triage models")
        ordering = ["-version"]

    def __str__(self):
        return f"v{self.version}"
