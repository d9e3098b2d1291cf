from django.contrib import admin

from .models import TriageModel


@admin.register(TriageModel)
class TriageModelAdmin(admin.ModelAdmin):
    """Versions of the triage model, read-only: a new one comes from ``manage.py triage_train``
    or the beat task, never from a form."""

    list_display = ("version", "trained_at", "samples", "held_out", "usable", "accuracy", "accuracy_top3", "note")
    readonly_fields = ("version", "trained_at", "samples", "held_out", "usable", "note", "accuracy",
                       "accuracy_top3", "per_class", "sklearn_version")
    exclude = ("model",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
