"""Rows an integration reads, creates and changes through the API (customers, sites, equipment,
technicians, parts, service types): the pieces their viewsets share.

- Output: ``SyncFields`` (``external_ref``, ``created_at``, ``updated_at``, ``version``).
- Input: ``Body`` (strict: an unknown or read-only field is 400; each value of its schema's JSON
  type), ``ref_field``, ``patch_of`` (the PATCH body of a create body, with ``version``).
- Lists: ``SyncFilter`` (updated/created after/before, external_ref), ``SyncPagination`` (sorts
  by id, updated_at, created_at, both ways), ``SYNC_PARAMETERS`` (their schema).
- ``RowViewSet``: list, create, read, PATCH from a version (``If-Match`` or the body's
  ``version``: 412 with the current one when stale, 428 without); ``rows_schema`` describes them.

The services behind them use ``core.versions`` (``apply_changes``, ``write_unique``).
"""

import django_filters
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import serializers, viewsets
from rest_framework.response import Response

from .api import (
    EMPTY,
    TEXT_PATTERN,
    ErrorSerializer,
    KeysetPagination,
    RoleRequired,
    StrictSerializer,
    TextField,
    etag_header,
    if_match,
    if_match_header,
    precondition_errors,
)
from .errors import NotFound
from .filters import DATETIME_PATTERN, EXTERNAL_REF_MAX, UtcDateTimeFilter
from .pagination import API_SORTS
from .versions import etag_of

# --- Output ------------------------------------------------------------------------------------


@extend_schema_field(OpenApiTypes.STR)
class VersionField(serializers.Field):
    """The row's version: its ``ETag`` without the quotes."""

    def __init__(self, **kwargs):
        kwargs.setdefault("help_text", "The row's version (its `ETag` without the quotes): send it as `If-Match` "
                          "(or as `version` in the body) with a change.")
        super().__init__(source="updated_at", read_only=True, **kwargs)

    def to_representation(self, value):
        return etag_of(value).strip('"')


class SyncFields(serializers.Serializer):
    external_ref = serializers.CharField(allow_null=True, help_text="The row's reference in your system, or null; "
                                         "unique among rows of its kind.")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField(help_text="Its last change: what `updated_after` and `sort=updated_at` "
                                           "read.")
    version = VersionField()


# --- Input -------------------------------------------------------------------------------------

REF_HELP = "Your reference for it (blank or null: none); one another row of its kind has is a conflict (409)."
VERSION_HELP = ("The version the change was made from (`version` as read), instead of an `If-Match` header; "
                "the header wins when both are sent.")
NEVER = gettext_lazy("Read-only: set by the server.")


def _wrong_type(field, value) -> str | None:
    """Why ``value`` is not of the JSON type the schema gives ``field``, or None."""
    if value is None:
        return None
    if isinstance(field, serializers.CharField) and not isinstance(value, str):
        return _("Not a string.")
    if isinstance(field, serializers.BooleanField) and not isinstance(value, bool):
        return _("Give true or false.")
    if isinstance(field, serializers.DecimalField) and not isinstance(value, str):
        return _("Not a string.")  # a decimal is text ("12.50"), as the schema says: no float's rounding
    if isinstance(field, (serializers.IntegerField, serializers.FloatField)) and (
            isinstance(value, bool) or not isinstance(value, (int, float))):
        return _("Not a number.")
    return None


class Body(StrictSerializer):
    """A request body: strict (``StrictSerializer``), and each value of its schema's JSON type:
    DRF would take a number as text, and text or true as a number."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            wrong = {}
            for name, field in self.fields.items():
                if name in data and (reason := _wrong_type(field, data[name])):
                    wrong[name] = [reason]
            if wrong:
                raise serializers.ValidationError(wrong)
        try:
            return super().to_internal_value(data)
        except serializers.ValidationError as exc:
            if not isinstance(exc.detail, dict):
                raise
            # A list of bodies (a technician's skills) answers its items' errors nested, by position:
            # each field's errors are one list of sentences, as everywhere (ErrorSerializer).
            raise serializers.ValidationError({name: _flat(detail) for name, detail in exc.detail.items()}) from None


def _flat(detail, path: str = "") -> list[str]:
    """The sentences of a nested error ``detail``, each after the position and field it is about
    (``0.skill: ...``)."""
    if isinstance(detail, dict):
        items = detail.items()
    elif isinstance(detail, list) and not all(isinstance(item, str) for item in detail):
        items = enumerate(detail)
    else:
        return [f"{path}: {message}" if path else str(message) for message in (
            detail if isinstance(detail, list) else [detail])]
    return [message for key, inner in items for message in _flat(inner, f"{path}.{key}" if path else str(key))]


def ref_field():
    return TextField(max_length=EXTERNAL_REF_MAX, required=False, allow_null=True, allow_blank=True,
                     help_text=REF_HELP)


def patch_of(create_class, name: str, extra_read_only: dict):
    """The PATCH body of ``create_class``: the same fields, each optional, less those fixed at
    creation (``extra_read_only``), plus ``version``."""
    fields = {}
    for field_name, field in create_class().fields.items():
        if field_name in extra_read_only:
            continue
        kwargs = dict(field._kwargs)
        kwargs["required"] = False
        if isinstance(field, serializers.ListSerializer):  # a list of bodies: made again from its child's class
            child = kwargs.pop("child")
            fields[field_name] = type(child)(many=True, **kwargs)
        else:
            fields[field_name] = type(field)(*field._args, **kwargs)
    fields["version"] = TextField(max_length=40, required=False, help_text=VERSION_HELP)
    read_only = {**create_class.read_only_fields, **extra_read_only}
    return type(name, (Body,), {**fields, "read_only_fields": read_only, "__doc__": create_class.__doc__})


# --- Lists: filters, sorts, pages ----------------------------------------------------------------


class SyncFilter(django_filters.FilterSet):
    """What an integration syncing these rows filters on."""

    updated_after = UtcDateTimeFilter(field_name="updated_at", lookup_expr="gte", label=_("Updated from"))
    updated_before = UtcDateTimeFilter(field_name="updated_at", lookup_expr="lt", label=_("Updated before"))
    created_after = UtcDateTimeFilter(field_name="created_at", lookup_expr="gte", label=_("Created from"))
    created_before = UtcDateTimeFilter(field_name="created_at", lookup_expr="lt", label=_("Created before"))
    external_ref = django_filters.CharFilter(field_name="external_ref", label=_("External reference"),
                                             max_length=EXTERNAL_REF_MAX)


SYNC_SORTS = {name: fields for name, fields in API_SORTS.items() if name.lstrip("-") in ("id", "updated_at",
                                                                                        "created_at")}


class SyncPagination(KeysetPagination):
    sorts = SYNC_SORTS


def query_param(name: str, schema: dict, description: str) -> OpenApiParameter:
    return OpenApiParameter(name=name, location=OpenApiParameter.QUERY, required=False,
                            type={"oneOf": [schema, EMPTY]}, description=description)


MOMENT = {"type": "string", "format": "date-time", "pattern": DATETIME_PATTERN}
_OFFSET = " ISO 8601, with an offset of at most 14:00 either way (none: the site's time zone)."
SYNC_PARAMETERS = [
    query_param("updated_after", MOMENT, "Changed at or after this moment." + _OFFSET),
    query_param("updated_before", MOMENT, "Changed before this moment." + _OFFSET),
    query_param("created_after", MOMENT, "Created at or after this moment." + _OFFSET),
    query_param("created_before", MOMENT, "Created before this moment." + _OFFSET),
    query_param("external_ref", {"type": "string", "pattern": TEXT_PATTERN, "maxLength": EXTERNAL_REF_MAX},
                "The row with this reference in your system (none: an empty page)."),
]


# --- Views -------------------------------------------------------------------------------------


def row_errors(noun: str, *codes, forbidden: str = "", conflict: str = "") -> dict:
    descriptions = {
        400: "Bad input; `fields` names each field with its messages. Nothing was written.",
        401: "Not authenticated.",
        403: forbidden or "The caller may read but not change these (field roles, a restricted API client).",
        404: f"No such {noun}, or not one the caller may see.",
        409: f"A unique value (`fields` names it: {conflict or 'the external reference'}) is another row's "
             "(`taken`). Nothing was written.",
        413: "The body is larger than the server takes (`DATA_UPLOAD_MAX_MEMORY_SIZE`).",
        415: "The body is not JSON (`Content-Type: application/json`).",
    }
    answers = {code: OpenApiResponse(ErrorSerializer, description=descriptions[code])
               for code in codes if code in descriptions}
    if 412 in codes:
        answers.update(precondition_errors(noun, alternative=" (or `version` in the body)"))
    return answers


def id_path(noun: str) -> OpenApiParameter:
    return OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description=f"The {noun}'s id.")


def rows_schema(noun: str, plural: str, serializer, create, patch, *, create_text: str, patch_text: str,
                extra_parameters=(), create_example=None, patch_example=None, forbidden: str = "",
                conflict: str = ""):
    """The list, create, read and change operations of one kind of row, described."""
    if_match_param = if_match_header(noun, required=False,
                                     alternative=" Without it, the body's `version` names the version; without "
                                     "either the answer is 428.")

    def errors(*codes):
        return row_errors(noun, *codes, forbidden=forbidden, conflict=conflict)

    return extend_schema_view(
        list=extend_schema(
            summary=f"List {plural}",
            description=f"The {plural} the caller may see, in keyset pages (follow `next`; no total count). To "
            "sync, list with `sort=updated_at&updated_after=<the last run's latest updated_at>`: every change "
            "made through the API, the pages, the admin or an import sets `updated_at`. A parameter given empty "
            "is ignored.",
            parameters=[*SYNC_PARAMETERS, *extra_parameters],
            responses={200: serializer(many=True), **errors(400, 401, 403)},
        ),
        create=extend_schema(
            summary=f"Create a {noun}",
            description=create_text,
            request=create,
            parameters=[etag_header(noun, 201)],
            responses={201: serializer, **errors(400, 401, 403, 409, 413, 415)},
            examples=[OpenApiExample(f"A new {noun}", request_only=True, value=create_example)]
            if create_example else None,
        ),
        retrieve=extend_schema(
            summary=f"Read one {noun}",
            description="The `ETag` header (and the body's `version`) is its version, for a change.",
            parameters=[id_path(noun), etag_header(noun, 200)],
            responses={200: serializer, **errors(401, 403, 404)},
        ),
        partial_update=extend_schema(
            summary=f"Change a {noun}",
            description=patch_text + " Send only the fields to change, with `If-Match` set to the `ETag` you read "
            "(or the body's `version` set to the `version` you read): if the row changed since, nothing is written "
            "and the answer is 412 with the current version. Any other field is refused (400). Sending the values "
            "it has writes nothing and keeps its version.",
            request=patch,
            parameters=[id_path(noun), if_match_param, etag_header(noun, 200, 412)],
            responses={200: serializer, **errors(400, 401, 403, 404, 409, 412, 413, 415)},
            examples=[
                *([OpenApiExample("A change", request_only=True, value=patch_example)] if patch_example else []),
                OpenApiExample("Stale version", response_only=True, status_codes=["412"], value={
                    "error": "stale", "version": "62c1d5f0a2b41",
                    "detail": f"The {noun} was changed since you read it; read it again and re-apply your change.",
                }),
            ],
        ),
    )


class RowViewSet(viewsets.GenericViewSet):
    """List, create, read, change (PATCH) of rows the caller may see. A subclass names
    ``visible()`` (the rows the caller sees), ``write_new(values)`` and
    ``write_changes(pk, changes, versions)`` (its services)."""

    permission_classes = [RoleRequired]
    pagination_class = SyncPagination
    filter_backends = [DjangoFilterBackend]
    lookup_value_regex = "[0-9]+"
    http_method_names = ["get", "post", "patch", "head", "options"]
    not_found = ""
    create_serializer = patch_serializer = None

    def visible(self):
        raise NotImplementedError

    def get_queryset(self):
        return self.visible()

    def output_context(self) -> dict:
        return {}

    def _answer(self, row, *, status=200):
        data = self.serializer_class(row, context=self.output_context()).data
        return Response(data, status=status, headers={"ETag": etag_of(row.updated_at)})

    def _one(self, pk):
        pk = int(pk)
        row = self.get_queryset().filter(pk=pk).first() if 0 < pk < 2**63 else None
        if row is None:
            raise NotFound(str(self.not_found))
        return row

    def list(self, request):
        queryset = self.filter_queryset(self.get_queryset())
        rows = self.paginate_queryset(queryset)
        return self.get_paginated_response(self.serializer_class(rows, many=True, context=self.output_context()).data)

    def retrieve(self, request, pk=None):
        return self._answer(self._one(pk))

    def written(self, row):
        """The row as answered after a write (a subclass may read it again, e.g. with its relations)."""
        return row

    def create(self, request):
        body = self.create_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        return self._answer(self.written(self.write_new(dict(body.validated_data))), status=201)

    def partial_update(self, request, pk=None):
        if not 0 < int(pk) < 2**63:
            raise NotFound(str(self.not_found))
        body = self.patch_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        changes = dict(body.validated_data)
        versions = if_match(request, changes.pop("version", None))
        return self._answer(self.written(self.write_changes(int(pk), changes, versions)))
