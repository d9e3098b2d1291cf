import logging

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import Http404
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from drf_spectacular.extensions import OpenApiSerializerExtension, OpenApiSerializerFieldExtension
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import exceptions, serializers
from rest_framework.pagination import BasePagination
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param
from rest_framework.views import exception_handler as drf_exception_handler

from .errors import ApplicationError, InvalidInput, PreconditionRequired
from .pagination import API_SORTS, keyset_page, keyset_page_compiled
from .permissions import may
from .parsers import too_large

security_logger = logging.getLogger("django.security")


def exception_handler(exc, context):
    """Every API error is JSON {"error", "detail", "fields"?} with its status.

    Application errors carry their own; DRF's (validation, authentication,
    permission, not found, ...) are put in the same shape, so that a client
    reads one kind of error body everywhere.
    """
    if isinstance(exc, ApplicationError):
        etag = getattr(exc, "etag", None)  # a stale version: the current one (PreconditionFailed)
        return Response(exc.as_dict(), status=exc.status_code, headers={"ETag": etag} if etag else None)
    if isinstance(exc, RequestDataTooBig):
        exc = too_large()  # a body over DATA_UPLOAD_MAX_MEMORY_SIZE, read by Django
    elif isinstance(exc, SuspiciousOperation):
        # E.g. a form with more fields than DATA_UPLOAD_MAX_NUMBER_FIELDS: logged as Django
        # logs it, answered in the API's shape instead of the HTML 400 page.
        security_logger.warning("%s: %s", exc.__class__.__name__, exc)
        exc = exceptions.ParseError(_("The request could not be read."))
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None or not isinstance(exc, exceptions.APIException):
        return response
    if isinstance(exc, exceptions.ValidationError):
        fields = response.data if isinstance(response.data, dict) else {"non_field_errors": response.data}
        response.data = {"error": "invalid", "detail": _("Some fields are not valid."), "fields": fields}
    else:
        code = getattr(exc.detail, "code", None) or exc.default_code
        response.data = {"error": code, "detail": str(exc.detail)}
    return response


class ApiDocsPermission(BasePermission):
    """The API's schema and docs pages: for staff (a user with a role, or the admin's staff flag),
    or for anyone when ``settings.API_DOCS_PUBLIC`` says so.

    The schema names every address, field and filter of the API: a map worth keeping from
    strangers unless the company chooses to publish it.
    """

    def has_permission(self, request, view):
        return api_docs_allowed(request.user)


def api_docs_allowed(user) -> bool:
    return may(user, "core.read_api_docs")


class LoginLockedOut(exceptions.APIException):
    """A login refused for too many failures (django-axes): 429, ``{"error": "locked_out", "detail"}``."""

    status_code = 429
    default_code = "locked_out"

    def __init__(self):
        minutes = settings.LOGIN_LOCKOUT_MINUTES
        if minutes:
            detail = ngettext(
                "Too many failed logins for this user from your address. Try again in %(minutes)d minute, "
                "or ask an administrator to unlock the account.",
                "Too many failed logins for this user from your address. Try again in %(minutes)d minutes, "
                "or ask an administrator to unlock the account.",
                minutes,
            ) % {"minutes": minutes}
            self.wait = minutes * 60
        else:
            detail = _("Too many failed logins for this user from your address. Ask an administrator to unlock "
                       "the account.")
            self.wait = None
        super().__init__(detail)


# --- Text fields whose schema states what they refuse ---------------------------------------

# The characters ``str.strip()`` removes (``str.isspace()``): DRF's CharField trims them, so
# text of only these is blank. Spelt out, since a schema's ``\s`` need not mean the same set.
_WHITESPACE = (
    "\\t\\n\\x0b\\x0c\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000"
)
# DRF's CharField refuses NUL (PostgreSQL cannot store it) and, unless blank is allowed,
# text that is empty once trimmed. (A blank-allowed field's schema is "this pattern, or
# empty": drf-spectacular adds the empty alternative, so the pattern itself needs a character.)
TEXT_PATTERN = "^[^\\x00]*$"
NON_EMPTY_TEXT_PATTERN = "^[^\\x00]+$"
NOT_BLANK_TEXT_PATTERN = f"^[{_WHITESPACE}]*[^\\x00{_WHITESPACE}][^\\x00]*$"


class TextField(serializers.CharField):
    """DRF's ``CharField``; its schema also states that NUL is refused and, unless
    ``allow_blank``, that the text must have a character other than whitespace.
    A subclass may name a ``schema_format`` (a rule of its own, told by its help text)."""

    schema_format = None
    schema_pattern = None  # a subclass's own rule (a regular expression its validation applies too)

    def to_internal_value(self, data):
        # The schema's maxLength is of the text as sent; DRF would count it once trimmed.
        if isinstance(data, str) and self.max_length is not None and len(data) > self.max_length:
            self.fail("max_length", max_length=self.max_length)
        return super().to_internal_value(data)


class PhoneField(TextField):
    """A mobile number as a person types it; stored in E.164 form. Its schema's format,
    ``phone``, is a number ``phonenumbers`` finds valid for the site's region (``PHONE_REGION``)."""

    schema_format = "phone"


class TextFieldSchema(OpenApiSerializerFieldExtension):
    target_class = TextField
    match_subclasses = True

    def map_serializer_field(self, auto_schema, direction):
        schema = auto_schema._map_serializer_field(self.target, direction, bypass_extensions=True)
        if direction == "request":
            schema["pattern"] = getattr(self.target, "schema_pattern", None) or (
                NON_EMPTY_TEXT_PATTERN if self.target.allow_blank else NOT_BLANK_TEXT_PATTERN)
        schema_format = getattr(self.target, "schema_format", None)
        if schema_format:
            schema["format"] = schema_format
        return schema


def require_discriminated_bodies(result, generator, request, public):
    """drf-spectacular postprocessing hook: a request body that is one of several kinds told
    apart by a property (``discriminator``) is required, since that property is. (drf-spectacular
    marks a body required only when its own component lists required properties.)"""
    schemas = result.get("components", {}).get("schemas", {})
    for methods in result.get("paths", {}).values():
        for operation in methods.values():
            body = operation.get("requestBody") if isinstance(operation, dict) else None
            if not body:
                continue
            for media in body.get("content", {}).values():
                ref = media.get("schema", {}).get("$ref", "")
                if "discriminator" in schemas.get(ref.rsplit("/", 1)[-1], {}):
                    body["required"] = True
    return result


# --- Bodies that name only fields they may ------------------------------------------------------


class StrictSerializer(serializers.Serializer):
    """A request body refused (400, nothing written) when it names a field not declared here:
    an unknown one, or one the client may read but not write (``read_only_fields``, each with
    its own message). DRF ignores such fields, so a client would believe it had changed them.
    Its schema says so too (``additionalProperties: false``, ``StrictSerializerSchema``)."""

    # Field name -> why it cannot be written here; other unknown names are "not a field".
    read_only_fields: dict = {}

    def to_internal_value(self, data):
        if isinstance(data, dict):
            errors = {}
            for name in data:
                if name not in self.fields:
                    reason = self.read_only_fields.get(name)
                    errors[name] = [str(reason) if reason else _("There is no such field.")]
            if errors:
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)


class StrictSerializerSchema(OpenApiSerializerExtension):
    target_class = StrictSerializer
    match_subclasses = True

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_basic_serializer(self.target, direction)
        schema["additionalProperties"] = False
        return schema


class ErrorSerializer(serializers.Serializer):
    """The body of every error answer."""

    error = serializers.CharField(help_text="A stable code: invalid, conflict, transition_not_allowed, forbidden, "
                                  "not_found, not_authenticated, ...")
    detail = serializers.CharField(help_text="A sentence for a person, in the request's language.")
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="Present for bad input: the messages for each field, by field name.",
    )


# --- Changes made from a version: ETag and If-Match (optimistic concurrency) -------------------
# A row's version is ``core.versions.etag_of(updated_at)``; the service compares it under the
# row's lock (``core.versions.version_check``): a stale one is 412 with the current version.


class StaleSerializer(ErrorSerializer):
    version = serializers.CharField(help_text="The current version: the `ETag` to send as `If-Match` once the "
                                    "change is re-applied to it.")


def etag_header(noun: str, *statuses) -> OpenApiParameter:
    """The ``ETag`` response header of ``statuses``, described."""
    return OpenApiParameter(
        name="ETag", type=str, location=OpenApiParameter.HEADER, response=list(statuses),
        description=f"The {noun}'s version (its last change), quoted, e.g. `\"62c1d5f0a2b41\"`: send it as "
        "`If-Match` with a change.",
    )


def if_match_header(noun: str, *, required: bool = True, alternative: str = "") -> OpenApiParameter:
    return OpenApiParameter(
        name="If-Match", type={"type": "string", "pattern": TEXT_PATTERN, "maxLength": 200},
        location=OpenApiParameter.HEADER, required=required,
        description=f"The `ETag` of the version read (several may be given, comma-separated). If the {noun} has "
        f"changed since, nothing is written and the answer is 412 with the current version.{alternative}",
    )


def precondition_errors(noun: str, *, alternative: str = "") -> dict:
    """The answers 412 (a stale version) and 428 (none given) of a change."""
    return {
        412: OpenApiResponse(StaleSerializer, description=f"The {noun} changed since the version in `If-Match` "
                             "(`stale`): nothing was written; `version` and `ETag` give the current one."),
        428: OpenApiResponse(ErrorSerializer, description="No `If-Match` header (`precondition_required`): send the "
                             f"`ETag` of the version the change was made from{alternative}."),
    }


def if_match(request, version: str | None = None) -> list[str]:
    """The versions a change was made from: those in the request's ``If-Match`` (ETags, quoted; a
    weak one's ``W/`` dropped), else ``version`` (the body's, unquoted). Neither: 428. ``*`` (any
    version) is refused: a change must name the version it was made from."""
    raw = request.headers.get("If-Match")
    if raw is None or not raw.strip():
        if version:
            return [f'"{version.strip().strip(chr(34))}"']
        raise PreconditionRequired(_("Send If-Match with the ETag of the version you read."))
    tags = [tag.strip().removeprefix("W/") for tag in raw.split(",") if tag.strip()]
    if "*" in tags:
        message = _("Give the ETag of the version you read, not *.")
        raise InvalidInput(message, fields={"If-Match": [message]})
    return [tag if tag.startswith('"') else f'"{tag}"' for tag in tags]


# --- Pagination: keyset, never a COUNT(*) ------------------------------------------------------


# An empty query parameter: the list ignores it, as if it were not given.
EMPTY = {"type": "string", "maxLength": 0}


class KeysetPagination(BasePagination):
    """Cursor pages over ``core.pagination.keyset_page``: ?cursor=&sort=&page_size=."""

    cursor_query_param = "cursor"
    sort_query_param = "sort"
    page_size_query_param = "page_size"
    page_size = 50
    max_page_size = 200
    default_sort = "-id"
    sorts = API_SORTS  # a list of other rows: the sorts its columns allow

    def get_page_size(self, request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw in (None, ""):
            return self.page_size
        try:
            size = int(raw)
        except ValueError:
            size = 0
        if size < 1:
            message = _("Give a whole number of at least 1.")
            raise InvalidInput(message, fields={self.page_size_query_param: [message]})
        return min(size, self.max_page_size)

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        self.page = keyset_page(
            queryset,
            sort=request.query_params.get(self.sort_query_param) or self.default_sort,
            cursor=request.query_params.get(self.cursor_query_param) or None,
            size=self.get_page_size(request),
            sorts=self.sorts,
        )
        return self.page.items

    def paginate_compiled(self, key, build, request):
        """``paginate_queryset(build())`` with the page's SQL kept per process under ``key``
        (``core.pagination.keyset_page_compiled``)."""
        self.request = request
        self.page = keyset_page_compiled(
            key,
            build,
            sort=request.query_params.get(self.sort_query_param) or self.default_sort,
            cursor=request.query_params.get(self.cursor_query_param) or None,
            size=self.get_page_size(request),
        )
        return self.page.items

    def _link(self, cursor):
        if cursor is None:
            return None
        url = self.request.build_absolute_uri()
        return replace_query_param(url, self.cursor_query_param, cursor)

    def get_next_link(self):
        return self._link(self.page.next_cursor)

    def get_previous_link(self):
        return self._link(self.page.prev_cursor)

    def get_paginated_response(self, data, body_class=dict):
        """``body_class``: ``core.renderers.PlainBody`` for rows of plain values (written by orjson)."""
        return Response(body_class(next=self.get_next_link(), previous=self.get_previous_link(), results=data))

    def get_paginated_response_schema(self, schema):
        link = {"type": "string", "nullable": True, "format": "uri"}
        return {
            "type": "object",
            "required": ["next", "previous", "results"],
            "properties": {
                "next": {**link, "description": "The next page, or null on the last page."},
                "previous": {**link, "description": "The previous page, or null on the first page."},
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view):
        return [
            {
                "name": self.cursor_query_param,
                "required": False,
                "in": "query",
                "description": "Opaque cursor from a `next` or `previous` link (another is refused, 400).",
                "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-]*$"},  # empty: the first page
            },
            {
                "name": self.sort_query_param,
                "required": False,
                "in": "query",
                "description": "Sort order (default `-id`, newest first). `updated_at` (and `created_at` where "
                "offered; oldest first, `-`: newest first) walks the rows by that moment, ties by id: to sync, "
                "list with `sort=updated_at&updated_after=<the last run's latest updated_at>` and follow `next`.",
                "schema": {"oneOf": [{"type": "string", "enum": list(self.sorts)}, EMPTY],
                           "default": self.default_sort},
            },
            {
                "name": self.page_size_query_param,
                "required": False,
                "in": "query",
                "description": f"Rows per page (default {self.page_size}); more than {self.max_page_size} "
                f"gives {self.max_page_size}.",
                "schema": {"oneOf": [{"type": "integer", "minimum": 1}, EMPTY], "default": self.page_size},
            },
        ]


# --- Who may call the API ---------------------------------------------------------------------


class RoleRequired(BasePermission):
    """Users with a role, and superusers; what each of them sees is the view's queryset's business."""

    def has_permission(self, request, view):
        return may(request.user, "core.use_api")
