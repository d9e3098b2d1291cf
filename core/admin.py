"""What the admin pages of several apps share."""

from django import forms
from django.conf import settings
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.utils.text import capfirst

from modeltranslation.admin import TabbedTranslationAdmin, TranslationAdmin

from .errors import InvalidInput
from .models import PeriodicRun
from .validation import normalize_phone


class PhoneFormField(forms.CharField):
    """A phone number typed by staff, checked and stored as the rest of the system stores it (E.164)."""

    def clean(self, value):
        value = super().clean(value)
        if not value:
            return value
        try:
            return normalize_phone(value, field="phone")
        except InvalidInput as exc:
            raise ValidationError([str(m) for m in exc.fields.get("phone", [exc.message])]) from None


class PhoneFieldsAdmin:
    """A ModelAdmin mixin: the model fields named in ``phone_fields`` are checked as phone numbers."""

    phone_fields: tuple[str, ...] = ()

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name in self.phone_fields:
            return PhoneFormField(
                label=capfirst(db_field.verbose_name), required=not db_field.blank, max_length=32,
                help_text=db_field.help_text,
            )
        return super().formfield_for_dbfield(db_field, request, **kwargs)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows the application writes and people only read in admin."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(PeriodicRun)
class PeriodicRunAdmin(ReadOnlyAdmin):
    """Each periodic task's last tick (core/periodic.py), to read: beat and the workers write it."""

    list_display = ("name", "tick", "started_at", "finished_at", "runs", "duplicates")


# Master data in both languages (django-modeltranslation): the Chinese and the English value of a
# translated field on tabs (jQuery UI from node_modules, settings.JQUERY_UI_AVAILABLE), or one under
# the other when jQuery UI is not installed, so that the admin never asks for a file it cannot serve.
TranslatedAdmin = TabbedTranslationAdmin if getattr(settings, "JQUERY_UI_AVAILABLE", False) else TranslationAdmin
