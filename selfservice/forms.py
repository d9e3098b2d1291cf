"""The customer's self-service forms."""

from django import forms
from django.utils import formats, timezone
from django.utils.translation import gettext_lazy as _

from core.errors import InvalidInput
from core.validation import normalize_phone
from workorders.forms import MultiplePhotoField, PublicRequestForm
from workorders.services import NOTE_MAX


class CancelForm(forms.Form):
    reason = forms.CharField(label=_("Why do you cancel?"), max_length=2000,
                             widget=forms.Textarea(attrs={"rows": 3}))

    def clean_reason(self):
        reason = " ".join(self.cleaned_data["reason"].split())
        if not reason:
            raise forms.ValidationError(_("This field is required."))
        return reason


class NoteForm(forms.Form):
    note = forms.CharField(label=_("Your note"), required=False, max_length=NOTE_MAX,
                           widget=forms.Textarea(attrs={"rows": 4}))
    photos = MultiplePhotoField(label=_("Photos (optional)"), required=False)
    # The public form's check: at most PUBLIC_FORM_MAX_PHOTOS, each through core.images.clean_image.
    clean_photos = PublicRequestForm.clean_photos

    def clean(self):
        cleaned = super().clean()
        if not self.errors and not (cleaned.get("note") or "").strip() and not cleaned.get("photos"):
            raise forms.ValidationError(_("Write a note or attach a photo."))
        return cleaned


def window_key(start, end) -> str:
    return f"{start.isoformat()}/{end.isoformat()}"


def window_label(start, end) -> str:
    start, end = timezone.localtime(start), timezone.localtime(end)
    return f"{formats.date_format(start, 'D Y-m-d')} {start:%H:%M}–{end:%H:%M}"


class RescheduleForm(forms.Form):
    window = forms.ChoiceField(label=_("New time"), widget=forms.RadioSelect,
                               error_messages={"invalid_choice": _("That time is not offered any more. "
                                                                   "Please choose another.")})
    seen = forms.CharField(widget=forms.HiddenInput)

    def __init__(self, *args, windows=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.windows = {window_key(start, end): (start, end) for start, end in windows}
        # Grouped by day (RadioSelect shows each day's times under its date).
        days: dict[str, list] = {}
        for start, end in windows:
            local_start, local_end = timezone.localtime(start), timezone.localtime(end)
            days.setdefault(formats.date_format(local_start, "D Y-m-d"), []).append(
                (window_key(start, end), f"{local_start:%H:%M}–{local_end:%H:%M}"))
        self.fields["window"].choices = list(days.items())

    def chosen(self):
        return self.windows[self.cleaned_data["window"]]


class PhoneForm(forms.Form):
    phone = forms.CharField(label=_("Mobile phone"), max_length=30,
                            widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}))

    def clean_phone(self):
        try:
            return normalize_phone(self.cleaned_data["phone"], field="phone")
        except InvalidInput as exc:
            raise forms.ValidationError(str(exc.message)) from None


class CodeForm(PhoneForm):
    code = forms.CharField(label=_("Code from the SMS"), max_length=12,
                           widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}))


__all__ = ["CancelForm", "NoteForm", "RescheduleForm", "PhoneForm", "CodeForm"]
