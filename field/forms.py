"""Forms of the technicians' pages: parse what the phone sends; the services decide."""

import base64
import binascii
import json
import uuid
from datetime import UTC, datetime

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from catalog.forms import custom_form_fields, custom_values_from, input_name
from completion.services import PhotoUpload

# The status buttons a technician has on the job page, in the order shown.
FIELD_ACTIONS = ("accept", "depart", "arrive", "hold", "resume", "reject")


class HoldReason:
    WAITING_PARTS = "waiting_parts"
    CUSTOMER_ABSENT = "customer_absent"
    SECOND_VISIT = "second_visit"
    CHOICES = [
        (WAITING_PARTS, _("Waiting for parts")),
        (CUSTOMER_ABSENT, _("Customer absent")),
        (SECOND_VISIT, _("Needs a second visit")),
    ]


class StatusForm(forms.Form):
    """One tap on a status button, with the phone's position when it gave one."""

    action = forms.ChoiceField(choices=[(a, a) for a in FIELD_ACTIONS])
    reason = forms.ChoiceField(label=_("Reason"), choices=[("", "")] + HoldReason.CHOICES, required=False)
    note = forms.CharField(label=_("Note"), max_length=2000, required=False)
    latitude = forms.FloatField(required=False, min_value=-90, max_value=90)
    longitude = forms.FloatField(required=False, min_value=-180, max_value=180)
    # The technician has seen that the job's window is far off and departs anyway.
    early_ok = forms.BooleanField(required=False)

    def clean(self):
        data = super().clean()
        action = data.get("action")
        note = (data.get("note") or "").strip()
        if action == "hold":
            reason = data.get("reason")
            if not reason:
                self.add_error("reason", _("Choose why the job is on hold."))
            else:
                label = str(dict(HoldReason.CHOICES)[reason])
                data["note"] = f"{label}: {note}" if note else label
        elif action == "reject" and not note:
            self.add_error("note", _("Say why you reject the job."))
        if (data.get("latitude") is None) != (data.get("longitude") is None):
            data["latitude"] = data["longitude"] = None
        return data

    def transition_kwargs(self) -> dict:
        data = self.cleaned_data
        kwargs = {
            "action": data["action"],
            "note": data.get("note") or "",
            "latitude": data.get("latitude"),
            "longitude": data.get("longitude"),
        }
        if data["action"] == "hold":
            kwargs["data"] = {"reason": data["reason"]}
        return kwargs


SIGNATURE_PREFIX = "data:image/png;base64,"
SIGNATURE_MAX_CHARS = 2 * 1024 * 1024


class CompletionForm(forms.Form):
    """The scalar fields of the completion report. Checklist answers, part lines and photos
    come as repeated fields and are read by ``completion_kwargs``."""

    submission_key = forms.UUIDField(widget=forms.HiddenInput)
    work_done = forms.CharField(label=_("Work done"), widget=forms.Textarea, required=False)
    labour_minutes = forms.IntegerField(label=_("Labour (minutes)"), required=False, min_value=0, max_value=24 * 60)
    signer_name = forms.CharField(label=_("Customer's name"), max_length=120, required=False)
    signature = forms.CharField(widget=forms.HiddenInput, required=False, max_length=SIGNATURE_MAX_CHARS)
    needs_second_visit = forms.BooleanField(label=_("Needs a second visit"), required=False)
    second_visit_reason = forms.CharField(label=_("Why a second visit"), max_length=500, required=False)
    latitude = forms.FloatField(required=False, min_value=-90, max_value=90)
    longitude = forms.FloatField(required=False, min_value=-180, max_value=180)

    def clean_signature(self) -> bytes:
        """The canvas drawing, sent as a PNG data URL; empty when nothing was drawn."""
        raw = (self.cleaned_data.get("signature") or "").strip()
        if not raw:
            return b""
        if not raw.startswith(SIGNATURE_PREFIX):
            raise forms.ValidationError(_("The signature is not a PNG image."))
        try:
            return base64.b64decode(raw[len(SIGNATURE_PREFIX):], validate=True)
        except (binascii.Error, ValueError):
            raise forms.ValidationError(_("The signature could not be read.")) from None

    def clean(self):
        data = super().clean()
        if (data.get("latitude") is None) != (data.get("longitude") is None):
            data["latitude"] = data["longitude"] = None
        return data

    @staticmethod
    def new_key() -> uuid.UUID:
        return uuid.uuid4()


def _taken_at(value):
    """A time the phone reported (milliseconds since 1970), if plausible."""
    try:
        moment = datetime.fromtimestamp(float(value) / 1000, tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None
    if moment.year < 2000 or moment > timezone.now() + timezone.timedelta(days=1):
        return None
    return moment


def photo_uploads(files, meta_text: str) -> list[PhotoUpload]:
    """The on-site photos, each with the position and time the page recorded for it (a JSON list in
    the same order as the files)."""
    try:
        meta = json.loads(meta_text or "[]")
    except (TypeError, ValueError):
        meta = []
    if not isinstance(meta, list):
        meta = []
    uploads = []
    for index, upload in enumerate(files):
        info = meta[index] if index < len(meta) and isinstance(meta[index], dict) else {}
        uploads.append(PhotoUpload(upload, info.get("lat"), info.get("lng"), _taken_at(info.get("time"))))
    return uploads


def checklist_answers(post, items) -> dict:
    """{item id: (answer, note)} from the radio buttons ``check_<id>`` and notes ``check_note_<id>``."""
    return {
        item.pk: (post.get(f"check_{item.pk}", ""), post.get(f"check_note_{item.pk}", "")) for item in items
    }


def part_lines(post) -> list[tuple[str, str]]:
    """(part number, quantity) pairs from the repeated ``part`` and ``qty`` fields."""
    numbers, quantities = post.getlist("part"), post.getlist("qty")
    width = max(len(numbers), len(quantities))
    numbers += [""] * (width - len(numbers))
    quantities += [""] * (width - len(quantities))
    # The picker shows "number name"; the number is the first word.
    numbers = [(n.split() or [""])[0] for n in numbers]
    return list(zip(numbers, quantities, strict=True))


class CustomAnswersForm(forms.Form):
    """The service type's completion custom fields (a before-photo, a reading...): collected here,
    checked by ``completion_submit`` (catalog/custom_fields.py, as the API checks intake values)."""

    def __init__(self, *args, custom_fields=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.custom_fields = custom_fields
        self.fields.update(custom_form_fields(custom_fields))

    @property
    def inputs(self) -> list:
        return [self[input_name(field)] for field in self.custom_fields]

    def values(self) -> dict:
        return custom_values_from(self.cleaned_data, self.custom_fields)


class ReviseForm(forms.Form):
    reply = forms.CharField(label=_("Your reply"), widget=forms.Textarea, max_length=2000)
    work_done = forms.CharField(label=_("Work done (corrected)"), widget=forms.Textarea, required=False)
