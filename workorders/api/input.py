"""What the work-order API takes: the bodies of create, transition and PATCH, checked here before
a service (``workorders.services``) is called."""


from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import (
    PolymorphicProxySerializer,
    inline_serializer,
)
from rest_framework import serializers

from catalog.models import ServiceType
from catalog.selectors import service_type_by_code
from core.api import (
    PhoneField,
    TextField,
)
from core.errors import InvalidInput
from core.rows import VERSION_HELP, Body
from core.validation import normalize_phone

from ..lifecycle import TRANSITIONS
from ..models import WorkOrder
from ..services import DESCRIPTION_MAX, EXTERNAL_REF_MAX, MAX_STEP_PHOTOS

from .output import CUSTOM_HELP

# --------------------------------------------------------------------------
# Input
# --------------------------------------------------------------------------


class CachedServiceTypeField(serializers.SlugRelatedField):
    """A service type by its code, looked up in the process's copy (no query)."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, (str, int)):
            self.fail("invalid")
        found = service_type_by_code(str(data))
        if found is None:
            self.fail("does_not_exist", slug_name=self.slug_field, value=str(data))
        return found


class WorkOrderCreateSerializer(serializers.Serializer):
    contact_name = TextField(max_length=120)
    contact_phone = PhoneField(max_length=40, help_text="Mobile number (a valid number of `PHONE_REGION`, "
                               "e.g. 138 1234 5678 or +8613812345678); stored in E.164 form.")
    contact_email = serializers.EmailField(required=False, allow_blank=True, default="")
    address = TextField(
        max_length=255, required=False, allow_blank=True, default="",
        help_text="Required (not blank) unless `site` is given.",
    )
    service_type = CachedServiceTypeField(
        slug_field="code", queryset=ServiceType.objects.all(), help_text="Code of an active service type."
    )
    description = TextField(max_length=DESCRIPTION_MAX)
    priority = serializers.ChoiceField(choices=WorkOrder.Priority.choices, default=WorkOrder.Priority.NORMAL)
    preferred_start = serializers.DateTimeField(
        required=False, allow_null=True, default=None, help_text="Give both ends of the window or neither."
    )
    preferred_end = serializers.DateTimeField(
        required=False, allow_null=True, default=None,
        help_text="After `preferred_start`; give both ends of the window or neither.",
    )
    language = serializers.ChoiceField(
        choices=[code for code, _name in settings.LANGUAGES], required=False, allow_blank=True, default=""
    )
    site = serializers.IntegerField(
        required=False, allow_null=True, default=None, min_value=1,
        help_text="Id of a site of the customer with this phone number.",
    )
    equipment = serializers.IntegerField(
        required=False, allow_null=True, default=None, min_value=1,
        help_text="Id of equipment of the customer with this phone number.",
    )
    external_ref = TextField(
        max_length=EXTERNAL_REF_MAX, required=False, allow_null=True, allow_blank=True, default=None,
        help_text="The order's reference in your system (blank: none); one another work order has is refused (400).",
    )
    custom = serializers.DictField(
        required=False, default=dict,
        help_text=CUSTOM_HELP + " Every required field of the service type is given; a value that does not match "
        "its field, an unknown option or key is refused (400, the field named in `fields` as `custom.<key>`).",
    )

    def get_fields(self):
        # DRF deep-copies every declared field's arguments for each new serializer (the
        # service type's queryset among them); none of these arguments is ever changed,
        # so each field is built afresh from them as they are. (Not shared between
        # serializers: a validator's message is formatted once, in the first request's
        # language; tests/workorders/test_create_writes.py.)
        return {name: field.__class__(*field._args, **field._kwargs) for name, field in self._declared_fields.items()}

    def validate_contact_phone(self, value):
        try:
            return normalize_phone(value, field="contact_phone")
        except InvalidInput as exc:
            raise serializers.ValidationError(exc.message) from None


class TransitionSerializer(serializers.Serializer):
    """What a transition request may carry; which fields each action needs is stated per action
    in the schema (``TRANSITION_REQUEST``) and checked by ``services.workorder_transition``."""

    action = serializers.ChoiceField(choices=[(name, t.label) for name, t in TRANSITIONS.items()])
    note = TextField(
        required=False, allow_blank=True, default="", max_length=2000,
        help_text="Required (a reason) for reject, hold, reopen and cancel.",
    )
    latitude = serializers.FloatField(required=False, allow_null=True, default=None, min_value=-90, max_value=90)
    longitude = serializers.FloatField(required=False, allow_null=True, default=None, min_value=-180, max_value=180)
    technician = serializers.IntegerField(
        required=False, allow_null=True, default=None, min_value=1,
        help_text="Technician id; for assign and reassign.",
    )
    appointment_start = serializers.DateTimeField(required=False, allow_null=True, default=None)
    appointment_end = serializers.DateTimeField(required=False, allow_null=True, default=None)

    def validate(self, attrs):
        lat, lng = attrs.get("latitude"), attrs.get("longitude")
        if (lat is None) != (lng is None):
            missing = "longitude" if lng is None else "latitude"
            raise serializers.ValidationError({missing: [_("Give both the latitude and the longitude.")]})
        return attrs


def transition_photos(request, action: str) -> list:
    """The photos a transition request uploads: the ``photos`` file parts of a multipart body
    (a JSON body uploads none). A multipart body is ``arrive`` with at least one photo
    (``services.workorder_arrive``), as the schema says; anything else in one is refused (400)
    before anything is stored: a ``photos`` part on another action or one that is not a file
    (naming ``photos``), another action without photos (naming ``action``), a file under
    another name (naming it)."""
    if not request.content_type.startswith("multipart/"):
        return []
    files = request.FILES
    for name in files:
        if name != "photos":
            message = _("Only photos are uploaded with a step, as parts named photos.")
            raise InvalidInput(message, fields={name: [message]})
    photos = files.getlist("photos")
    if request.POST.getlist("photos"):
        message = _("Send each photo as a file.")
        raise InvalidInput(message, fields={"photos": [message]})
    if action != "arrive":
        if photos:
            message = _("Only arrive takes photos; send %(action)s without them.") % {"action": action}
            raise InvalidInput(message, fields={"photos": [message]})
        message = _("Only arrive, with its photos, is sent as multipart/form-data; send %(action)s as JSON.") % {
            "action": action}
        raise InvalidInput(message, fields={"action": [message]})
    if not photos:
        message = _("Attach the photos as file parts named photos, or send arrive as JSON.")
        raise InvalidInput(message, fields={"photos": [message]})
    return photos


class WorkOrderPatchSerializer(Body):
    """The details of an order an agent, dispatcher or manager may change (PATCH): each field
    optional; any other field, one shown on the order (status, technician, customer, ...) too,
    is refused (400) and nothing is written. Checked further by ``services.workorder_update``."""

    read_only_fields = {
        name: gettext_lazy("Read-only here: the status, technician and appointment change through transitions; "
                           "the other fields are set when the order is created.")
        for name in (
            "id", "number", "status", "status_label", "priority_label", "channel", "customer", "service_type",
            "technician", "contact_name", "contact_phone", "contact_email", "address", "language",
            "appointment_start", "appointment_end", "created_at", "updated_at", "assigned_at", "accepted_at",
            "arrived_at", "resolved_at", "closed_at", "available_actions", "sla", "events", "attachments",
        )
    }

    priority = serializers.ChoiceField(choices=WorkOrder.Priority.choices, required=False)
    preferred_start = serializers.DateTimeField(
        required=False, allow_null=True,
        help_text="The window the customer asked for: both ends set or both null, the end after the start "
        "(with the end the order has, if only this one is sent).",
    )
    preferred_end = serializers.DateTimeField(required=False, allow_null=True, help_text="See `preferred_start`.")
    description = TextField(max_length=DESCRIPTION_MAX, required=False)
    site = serializers.IntegerField(required=False, allow_null=True, min_value=1,
                                    help_text="Id of a site of the order's customer; the order's address "
                                    "becomes the site's.")
    equipment = serializers.IntegerField(required=False, allow_null=True, min_value=1,
                                         help_text="Id of equipment of the order's customer.")
    external_ref = TextField(
        max_length=EXTERNAL_REF_MAX, required=False, allow_null=True, allow_blank=True,
        help_text="The order's reference in your system (blank or null: none); one another work order has "
        "is refused (400).",
    )
    custom = serializers.DictField(
        required=False,
        help_text="Custom intake fields to change, by key; the keys not sent keep their values, null or \"\" "
        "clears an optional one. Checked as on create.",
    )
    version = TextField(max_length=40, required=False, help_text=VERSION_HELP)


def _transition_request(transition) -> serializers.Serializer:
    """The schema of one action's request, read from the lifecycle table: a reason is
    required where the table says so, a technician for assign and reassign."""
    position = "Where the caller is; give both `latitude` and `longitude` or neither."
    fields = {
        "action": serializers.ChoiceField(choices=[transition.action]),
        "note": TextField(max_length=2000, help_text="The reason.") if transition.reason_required
        else TextField(required=False, allow_blank=True, max_length=2000),
        "latitude": serializers.FloatField(required=False, allow_null=True, min_value=-90, max_value=90,
                                           help_text=position),
        "longitude": serializers.FloatField(required=False, allow_null=True, min_value=-180, max_value=180,
                                            help_text=position),
    }
    if transition.needs_technician:
        window = "The appointment; give both ends or neither, the end after the start."
        fields["technician"] = serializers.IntegerField(min_value=1, help_text="Id of an active technician.")
        fields["appointment_start"] = serializers.DateTimeField(required=False, allow_null=True, help_text=window)
        fields["appointment_end"] = serializers.DateTimeField(required=False, allow_null=True, help_text=window)
    name = "".join(part.title() for part in transition.action.split("_"))
    return inline_serializer(f"Transition{name}", fields)


TRANSITION_REQUEST = PolymorphicProxySerializer(
    component_name="Transition",
    serializers={name: _transition_request(t) for name, t in TRANSITIONS.items()},
    resource_type_field_name="action",
)


def _arrive_upload_request() -> serializers.Serializer:
    """The schema of ``arrive`` sent as multipart/form-data with the photos before the work."""
    position = "Where the caller is; give both `latitude` and `longitude` or neither."
    return inline_serializer("TransitionArriveWithPhotos", {
        "action": serializers.ChoiceField(choices=["arrive"], help_text="Only `arrive` takes photos; any other "
                                          "action with a `photos` part is refused (400 naming `photos`)."),
        "note": TextField(required=False, allow_blank=True, max_length=2000),
        "latitude": serializers.FloatField(required=False, allow_null=True, min_value=-90, max_value=90,
                                           help_text=position),
        "longitude": serializers.FloatField(required=False, allow_null=True, min_value=-180, max_value=180,
                                            help_text=position),
        "photos": serializers.ListField(
            child=serializers.ImageField(), min_length=1, max_length=MAX_STEP_PHOTOS,
            help_text=f"The photos before the work, one file part each (at most {MAX_STEP_PHOTOS}): JPEG, PNG or "
            "WebP by their content, each at most `PHOTO_MAX_BYTES` (10 MB) and `IMAGE_MAX_PIXELS`; the whole "
            "body at most `DATA_UPLOAD_MAX_MEMORY_SIZE` (12 MB; 413 beyond). Stored as attachments of kind "
            "`before_photo` in the transaction of the step: a refused step keeps none.",
        ),
    })


# The request of a transition as JSON (every action), or as multipart/form-data for ``arrive``
# with its photos (the only step that uploads files).
TRANSITION_REQUESTS = {"application/json": TRANSITION_REQUEST, "multipart/form-data": _arrive_upload_request()}
