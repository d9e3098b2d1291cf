"""REST API for work orders, under /api/v1/work-orders/.

Thin, like the pages: parse and validate the request (``input``), call a selector or a service,
render (``output``). Business rules live in ``workorders.services``; visibility in
``workorders.selectors``; the transition table in ``workorders.lifecycle``."""

import hashlib
import json
import re
import uuid

from django.urls import reverse
from django.utils.translation import gettext as _
from django_filters.rest_framework import DjangoFilterBackend
from django_filters.utils import translate_validation
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from core import roles as R
from core.api import (
    EMPTY,
    TEXT_PATTERN,
    ErrorSerializer,
    KeysetPagination,
    etag_header,
    if_match_header,
    precondition_errors,
)
from core.api import if_match as if_match_tags
from core.errors import InvalidInput, NotFound
from core.filters import DATETIME_PATTERN
from core.pagination import TIME_SORTS
from core.parsers import BoundedJSONParser, BoundedMultiPartParser
from core.permissions import may, require
from core.renderers import PlainBody
from customers.models import Customer
from customers.selectors import customer_find_by_phone

from .. import search
from ..filters import WorkOrderApiFilter, filters_key
from ..lifecycle import Status
from ..models import WorkOrder
from ..selectors import (
    LIST_RELATED,
    workorder_detail,
    workorder_etag,
    workorder_list,
    workorder_scope_key,
    workorder_visible_to,
)
from ..services import (
    EXTERNAL_REF_MAX,
    workorder_arrive,
    workorder_create,
    workorder_transition,
    workorder_update,
)

from .input import (
    TRANSITION_REQUESTS,
    TransitionSerializer,
    WorkOrderCreateSerializer,
    WorkOrderPatchSerializer,
    transition_photos,
)
from .output import (
    LIST_FIELDS,
    LIST_VALUES,
    ActionsByStatus,
    WorkOrderDetailSerializer,
    WorkOrderSerializer,
    _actions_of,
    _detail_from_values,
    _rows_from_values,
)

# --------------------------------------------------------------------------
# Views
# --------------------------------------------------------------------------

ERRORS = {
    400: OpenApiResponse(ErrorSerializer, description="Bad input; `fields` names each field with its messages."),
    401: OpenApiResponse(ErrorSerializer, description="Not authenticated."),
    403: OpenApiResponse(ErrorSerializer, description="The caller's role may not do this."),
    404: OpenApiResponse(ErrorSerializer, description="No such work order, or not one the caller may see."),
    409: OpenApiResponse(ErrorSerializer, description="Not allowed from the work order's current status."),
    413: OpenApiResponse(ErrorSerializer, description="The body is larger than the server takes "
                         "(`DATA_UPLOAD_MAX_MEMORY_SIZE`)."),
    415: OpenApiResponse(ErrorSerializer, description="The body is not JSON (`Content-Type: application/json`)."),
    422: OpenApiResponse(ErrorSerializer, description="The `Idempotency-Key` was already used with a different "
                         "body (`idempotency_key_reused`)."),
}


PATCH_IF_MATCH_HEADER = if_match_header("order", required=False, alternative=" Without it, the body's `version` "
                                        "names the version; without either the answer is 428.")
ERRORS.update(precondition_errors("work order"))


def _errors(*codes):
    return {code: ERRORS[code] for code in codes}


IDEMPOTENCY_HEADER = OpenApiParameter(
    name="Idempotency-Key",
    type=OpenApiTypes.UUID,
    location=OpenApiParameter.HEADER,
    required=False,
    description="A UUID chosen by the client. Sending the same key again with the same body returns the work "
    "order the first request created (200) instead of creating another; with a different body it is refused "
    "(422).",
)


def _or_empty(schema: dict) -> dict:
    """A list parameter's schema: the value, or empty (ignored, as if not given)."""
    return {"oneOf": [schema, EMPTY]}


def _param(name: str, schema: dict, description: str, **kw) -> OpenApiParameter:
    return OpenApiParameter(name=name, location=OpenApiParameter.QUERY, required=False, type=_or_empty(schema),
                            description=description, **kw)


def _datetime_param(name: str, description: str) -> OpenApiParameter:
    return _param(
        name, {"type": "string", "format": "date-time", "pattern": DATETIME_PATTERN},
        f"{description} ISO 8601, with an offset of at most 14:00 either way (none: the site's time zone); "
        "another offset is refused (400).",
    )


def _choices_param(name: str, choices, kind: str, description: str) -> OpenApiParameter:
    items = {"type": kind, "enum": [value for value, _label in choices]}
    return OpenApiParameter(name=name, location=OpenApiParameter.QUERY, required=False,
                            type={"type": "array", "items": {"oneOf": [items, EMPTY]}},
                            description=description, explode=True, style="form")


# The list's filters (workorders/filters.py), described here rather than by their labels
# (which are the staff queue's). Every one may be given empty, and is then ignored.
LIST_PARAMETERS = [
    _choices_param("status", Status.choices, "string", "Any of these statuses (repeat the parameter)."),
    _choices_param("priority", WorkOrder.Priority.choices, "integer", "Any of these priorities (1 low .. 4 urgent)."),
    _datetime_param("created_after", "Created at or after this moment."),
    _datetime_param("created_before", "Created before this moment."),
    _datetime_param("due_after", "Appointment ending at or after this moment."),
    _datetime_param("due_before", "Appointment ending before this moment."),
    _datetime_param("updated_after", "Changed at or after this moment (`updated_at`): with `sort=updated_at`, "
                    "what changed since an integration's last sync."),
    _datetime_param("updated_before", "Changed before this moment."),
    _param("external_ref", {"type": "string", "pattern": TEXT_PATTERN, "maxLength": EXTERNAL_REF_MAX},
           "The order with this reference in the client's system (none: an empty page)."),
    _param("customer", {"type": "integer"}, "Customer id."),
    _param("service_type", {"type": "integer"}, "Id of an existing service type (another id is refused, 400)."),
    _param("technician", {"type": "integer"}, "Id of an existing technician (another id is refused, 400)."),
    _param("unassigned", {"type": "boolean"}, "true: only orders without a technician; false: only those with one."),
    _param("phone", {"type": "string", "pattern": TEXT_PATTERN}, "The customer's phone number, in E.164 form."),
    _param("number", {"type": "string", "pattern": TEXT_PATTERN},
           "A work order's number, e.g. WO-2026-000123 (no match: an empty page)."),
]


ID_PATH = OpenApiParameter(
    name="id", type=OpenApiTypes.INT, location=OpenApiParameter.PATH, description="Work order id."
)


_UUID_TEXT = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def _idempotency_key(request) -> uuid.UUID | None:
    """The request's ``Idempotency-Key``: none, or a UUID in its usual form (an empty or other
    value is refused, as the schema says)."""
    raw = request.headers.get("Idempotency-Key")
    if raw is None:
        return None
    if not _UUID_TEXT.fullmatch(raw.strip()):
        message = _("The Idempotency-Key header must be a UUID.")
        raise InvalidInput(message, fields={"Idempotency-Key": [message]})
    return uuid.UUID(raw.strip())


def _plain_page(request, filterset) -> bool:
    """The list's page from a plain queryset, not from compiled SQL: sorted by a moment, or
    filtered by a value that changes with each request (``WorkOrderApiFilter.UNCOMPILED``)."""
    if request.query_params.get(KeysetPagination.sort_query_param) in TIME_SORTS:
        return True
    if filterset is None:  # only the status and priority filters (_CHOICE_FILTERS)
        return False
    data = filterset.form.cleaned_data
    return any(data.get(name) not in (None, "") for name in WorkOrderApiFilter.UNCOMPILED)


def _body_hash(data) -> str:
    """What a request's body says, as a hash: the same for the same JSON however it is spaced
    or its keys ordered (kept with the Idempotency-Key, ``services.workorder_create``)."""
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _office_role(user) -> str:
    names = R.roles_of(user)
    for role in (R.AGENT, R.DISPATCHER, R.MANAGER):
        if role in names:
            return role
    if R.INTEGRATION in names:
        return R.INTEGRATION
    return "admin"  # a superuser without a role group, as in services._acting_role


def _customer_items(*, phone: str, site_id, equipment_id):
    """The customer with ``phone`` and their site and equipment by id; each must be theirs."""
    customer = customer_find_by_phone(phone=phone)
    errors = {}
    site = equipment = None
    if site_id is not None:
        site = next((s for s in customer.sites.all() if s.pk == site_id), None) if customer else None
        if site is None:
            errors["site"] = [_("Not a site of the customer with this phone number.")]
    if equipment_id is not None:
        equipment = next((e for e in customer.equipment.all() if e.pk == equipment_id), None) if customer else None
        if equipment is None:
            errors["equipment"] = [_("Not equipment of the customer with this phone number.")]
    if errors:
        raise InvalidInput(_("The site or equipment belongs to another customer."), fields=errors)
    return customer, site, equipment


# The list's filters with choices fixed in the code (valid or not whatever the database
# holds, for every user): a query of only these, once found valid, skips the filter form
# and reuses its key (filters.filters_key). Not the others: a technician or a service
# type is valid while it exists.
_CHOICE_FILTER_NAMES = frozenset({"status", "priority"})
_PAGE_PARAMS = frozenset({KeysetPagination.cursor_query_param, KeysetPagination.sort_query_param,
                          KeysetPagination.page_size_query_param})
_CHOICE_FILTERS: dict = {}  # the query's choice filters -> filters_key of the valid form


def _choice_filters(request) -> tuple | None:
    """The request's filters as a key for ``_CHOICE_FILTERS``; None if it has others."""
    params = request.query_params
    key = []
    for name in params:
        if name in _PAGE_PARAMS:
            continue
        if name not in _CHOICE_FILTER_NAMES:
            return None
        key.append((name, tuple(params.getlist(name))))
    key.sort()
    return tuple(key)


@extend_schema(tags=["work orders"])
class WorkOrderViewSet(viewsets.GenericViewSet):
    """Work orders: list, read, create, and move through the lifecycle."""

    queryset = WorkOrder.objects.none()  # for introspection; get_queryset scopes by user
    serializer_class = WorkOrderSerializer
    pagination_class = KeysetPagination
    filter_backends = [DjangoFilterBackend]
    filterset_class = WorkOrderApiFilter
    lookup_value_regex = "[0-9]+"

    def get_queryset(self):
        return workorder_list(user=self.request.user).only(*LIST_FIELDS)

    def get_serializer_context(self):
        context = super().get_serializer_context()
        context["actions"] = ActionsByStatus(self.request.user)
        return context

    def _render(self, work_order, *, status=200, headers=None):
        body = WorkOrderSerializer(work_order, context=self.get_serializer_context()).data
        return Response(body, status=status, headers=headers)

    @extend_schema(
        summary="List work orders",
        description="Work orders the caller may see (technicians: their own; partner technicians: their "
        "company's; office roles: all), filtered, in keyset pages: follow `next` to walk on. No total count. "
        "A parameter given empty (`?status=`) is ignored, as if it were not given.",
        parameters=LIST_PARAMETERS,
        responses={200: WorkOrderSerializer(many=True), **_errors(400, 401)},
    )
    def list(self, request):
        # The filters as DjangoFilterBackend applies them (a 400 names each bad one; a
        # query of status and priority only, once valid, by its key: _CHOICE_FILTERS), then
        # the page from SQL kept per visibility scope and filters: the queryset is built
        # only the first time. Plain values, not model instances: a page of 200 rows
        # would build 800 of them. The body is written by orjson (core.renderers.PlainBody).
        user = request.user
        choices = _choice_filters(request)
        filters = _CHOICE_FILTERS.get(choices) if choices is not None else None
        filterset = None
        if filters is None:
            filterset = self._valid_filterset(request)
            filters = filters_key(filterset.form)
            if choices is not None and filters is not None:
                if len(_CHOICE_FILTERS) >= 1000:
                    _CHOICE_FILTERS.clear()
                _CHOICE_FILTERS[choices] = filters

        def build():
            return (filterset if filterset is not None else self._valid_filterset(request)).qs.values(*LIST_VALUES)

        if filters is None or _plain_page(request, filterset):
            rows = self.paginate_queryset(build())
        else:
            rows = self.paginator.paginate_compiled(("api-list", workorder_scope_key(user), filters), build, request)
        actions = _actions_of(self.get_serializer_context())
        body = _rows_from_values(rows, actions, times_as_text=False)
        return self.paginator.get_paginated_response(body, PlainBody)

    def _valid_filterset(self, request):
        """The list's filters as DjangoFilterBackend applies them; a 400 names each bad one."""
        filterset = DjangoFilterBackend().get_filterset(request, workorder_visible_to(request.user), self)
        if not filterset.is_valid():
            raise translate_validation(filterset.errors)
        return filterset

    @extend_schema(
        summary="Read one work order",
        description="With its events (the audit trail) and its attachments' metadata; the `ETag` header is "
        "its version, for a change (`PATCH`, `If-Match`).",
        parameters=[ID_PATH, etag_header("work order", 200)],
        responses={200: WorkOrderDetailSerializer, **_errors(401, 404)},
    )
    def retrieve(self, request, pk=None):
        detail = workorder_detail(user=request.user, pk=int(pk))
        if detail is None:
            raise NotFound(_("No such work order."))
        return Response(_detail_from_values(detail, _actions_of(self.get_serializer_context())),
                        headers={"ETag": workorder_etag(detail.row["updated_at"])})

    @extend_schema(
        summary="Change a work order's details",
        description="For agents, dispatchers and managers, while the order is open (new to on hold): its "
        "priority, the customer's preferred window, the description, the site and equipment (the customer's), "
        "and its reference in your system. Send only the fields to change, with `If-Match` set to the `ETag` "
        "of the version you read (`GET` answers it), or the body's `version` set to the ETag without its "
        "quotes: if someone changed the order since, nothing is written and the answer is 412 with the current "
        "version; with neither, 428. Any other field is refused (400), nothing written. "
        "A change writes an `update` event naming each field's old and new value. The status, technician and "
        "appointment change through `transitions`. The SLA deadlines stay those agreed when the order came in.",
        request=WorkOrderPatchSerializer,
        parameters=[ID_PATH, PATCH_IF_MATCH_HEADER, etag_header("work order", 200, 412)],
        responses={
            200: OpenApiResponse(WorkOrderDetailSerializer, description="The order as it is now."),
            **_errors(400, 401, 403, 404),
            409: OpenApiResponse(ErrorSerializer, description="The order is resolved, closed or cancelled: its "
                                 "details can no longer change."),
            **_errors(413, 415),
            **precondition_errors("work order", alternative=" (or `version` in the body)"),
        },
        examples=[
            OpenApiExample("New priority and window", request_only=True, value={
                "priority": 4, "preferred_start": "2026-05-02T09:00:00+08:00",
                "preferred_end": "2026-05-02T12:00:00+08:00",
            }),
            OpenApiExample("Your reference", request_only=True, value={"external_ref": "CRM-2026-00042"}),
            OpenApiExample("The version in the body", request_only=True,
                           value={"priority": 3, "version": "62c1d5f0a2b41"}),
            OpenApiExample("Stale version", response_only=True, status_codes=["412"], value={
                "error": "stale", "version": "62c1d5f0a2b41",
                "detail": "WO-2026-000123 was changed since you read it; read it again and re-apply your change.",
            }),
        ],
    )
    def partial_update(self, request, pk=None):
        if not 0 < int(pk) < 2**63:  # beyond any id: the database would refuse the number
            raise NotFound(_("No such work order."))
        if not (isinstance(request.data, dict) and request.data.get("version")):
            if_match_tags(request)  # neither If-Match nor a version: 428 before the body is read
        serializer = WorkOrderPatchSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        changes = dict(serializer.validated_data)
        if_match = if_match_tags(request, changes.pop("version", None))
        work_order = workorder_update(work_order_id=int(pk), actor=request.user, changes=changes, if_match=if_match)
        detail = workorder_detail(user=request.user, pk=work_order.pk)
        return Response(_detail_from_values(detail, _actions_of(self.get_serializer_context())),
                        headers={"ETag": workorder_etag(detail.row["updated_at"])})

    @extend_schema(
        summary="Search",
        description="One text finds work orders by number (`WO-2026-000123` or `123`), and customers by name, "
        "phone number (any common form, e.g. `138 0000 1234`; three or more digits find numbers holding them), "
        "address fragment or equipment serial (three characters or more), with their work orders: newest "
        f"first, at most {search.RESULTS}. Customers are listed for agents, dispatchers and managers only; "
        "technicians find their own work orders. An empty `q` finds nothing.",
        parameters=[
            OpenApiParameter(name="q", location=OpenApiParameter.QUERY, required=False,
                             type={"type": "string", "maxLength": search.MAX_QUERY, "pattern": TEXT_PATTERN},
                             description="What to look for."),
        ],
        responses={
            200: inline_serializer("SearchResult", {
                "query": serializers.CharField(help_text="The text searched for, spaces collapsed."),
                "results": WorkOrderSerializer(many=True),
                "more": serializers.BooleanField(help_text=f"More than {search.RESULTS} work orders matched."),
                "customers": inline_serializer("CustomerMatch", {
                    "id": serializers.IntegerField(),
                    "name": serializers.CharField(),
                    "phone": serializers.CharField(),
                    "tier": serializers.ChoiceField(choices=Customer.Tier.choices),
                }, many=True),
                "more_customers": serializers.BooleanField(),
            }),
            **_errors(400, 401),
        },
    )
    @action(detail=False, methods=["get"], url_path="search", filter_backends=[], pagination_class=None)
    def search(self, request):
        user = request.user
        found = search.staff_search(user=user, query=request.query_params.get("q", ""), values=LIST_VALUES)
        customers = found.customers if may(user, "core.office_pages") else []
        return Response({
            "query": found.query,
            "results": _rows_from_values(found.orders, _actions_of(self.get_serializer_context())),
            "more": found.more_orders,
            "customers": customers,
            "more_customers": found.more_customers and bool(customers),
        })

    @extend_schema(
        summary="Create a work order",
        description="For agents, dispatchers and managers. The customer is found by the phone number or "
        "created. With an `Idempotency-Key`, a replay answers 200 with the first work order.",
        request=WorkOrderCreateSerializer,
        parameters=[IDEMPOTENCY_HEADER],
        responses={
            201: OpenApiResponse(WorkOrderSerializer, description="Created."),
            200: OpenApiResponse(WorkOrderSerializer, description="A replay: the work order this key created."),
            **_errors(400, 401, 403, 413, 415, 422),
        },
    )
    def create(self, request):
        user = request.user
        # An API client restricted to a partner company or a customer creates none (it could not see it).
        require(user, "workorders.create")
        key = _idempotency_key(request)
        body_hash = _body_hash(request.data) if key is not None else ""
        serializer = WorkOrderCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        customer = site = equipment = None
        if data["site"] is not None or data["equipment"] is not None:
            customer, site, equipment = _customer_items(
                phone=data["contact_phone"], site_id=data["site"], equipment_id=data["equipment"]
            )
        work_order, created = workorder_create(
            channel=WorkOrder.Channel.API,
            contact_name=data["contact_name"],
            contact_phone=data["contact_phone"],
            contact_email=data["contact_email"],
            address=data["address"],
            service_type=data["service_type"],
            description=data["description"],
            priority=data["priority"],
            preferred_start=data["preferred_start"],
            preferred_end=data["preferred_end"],
            language=data["language"],
            created_by=user,
            actor_role=_office_role(user),
            submission_key=key,
            submission_hash=body_hash,
            customer=customer,
            site=site,
            equipment=equipment,
            external_ref=data["external_ref"],
            custom=data["custom"],
        )
        if not created:
            work_order = workorder_list(user=user).get(pk=work_order.pk)
        location = reverse("workorder-detail", args=[work_order.pk])
        return self._render(work_order, status=201 if created else 200, headers={"Location": location})

    @extend_schema(
        summary="Fire a lifecycle transition",
        description="assign, reassign, unassign, reject, accept, depart, arrive, hold, resume, complete, "
        "follow_up, close, reopen or cancel, as the lifecycle table allows for the caller's role and the "
        "work order's status, narrowed or extended by the flow of the order's service type (the roles per "
        "transition; no follow-up: `close` from resolved; photos before the work: `arrive` is 400 naming "
        "`photos` until the order has them). Each writes an event.\n\n"
        "A JSON body fires any action. `arrive` may instead be sent as `multipart/form-data` with the photos "
        "before the work as file parts named `photos` (and `note`, `latitude`, `longitude` as text parts): "
        "the photos are stored as attachments of kind `before_photo` and the step fired in one transaction, "
        "so a refused step (too few photos, a bad image, the wrong status) keeps no photo. A multipart body "
        "is for `arrive` with at least one photo only: a `photos` part with any other action is 400 naming "
        "`photos`, another action without photos 400 naming `action`, `arrive` without photos 400 naming "
        "`photos`.",
        request=TRANSITION_REQUESTS,
        parameters=[ID_PATH],
        responses={200: WorkOrderSerializer, **_errors(400, 401, 403, 404, 409, 413),
                    415: OpenApiResponse(ErrorSerializer, description="The body is neither JSON nor "
                                         "multipart/form-data.")},
    )
    @action(detail=True, methods=["post"], url_path="transitions",
            parser_classes=[BoundedJSONParser, BoundedMultiPartParser])
    def transitions(self, request, pk=None):
        serializer = TransitionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        photos = transition_photos(request, data["action"])  # none for JSON; at least one for multipart
        if photos:
            # The photos and the step in one transaction (a refused step keeps none).
            work_order = workorder_arrive(work_order_id=int(pk), actor=request.user, photos=photos,
                                          note=data["note"], latitude=data["latitude"], longitude=data["longitude"])
        else:
            work_order = workorder_transition(
                work_order_id=int(pk),
                action=data["action"],
                actor=request.user,
                note=data["note"],
                latitude=data["latitude"],
                longitude=data["longitude"],
                technician_id=data["technician"],
                appointment_start=data["appointment_start"],
                appointment_end=data["appointment_end"],
            )
        # Read back with what a row shows. Not through the caller's visibility:
        # after a reject the technician no longer sees the order, yet the
        # answer to their own request is the order as they left it.
        work_order = WorkOrder.objects.select_related(*LIST_RELATED).get(pk=work_order.pk)
        return self._render(work_order)
