"""Stock in the REST API: locations, what one holds, its ledger (read only); part requests.

``/api/v1/stock/requests/``: list, create (technicians), and the steps as actions
(``{id}/approve/``, ``reject/``, ``ship/``: managers and storekeepers; ``receive/``, ``cancel/``: the
technician who asked), through ``inventory.requests``.

``GET /api/v1/stock/locations/``, ``.../locations/{id}/levels/``, ``.../locations/{id}/moves/``:
office roles see every location, a technician their own van (others: 404, as on the pages).
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import ErrorSerializer, StrictSerializer, TextField
from core.errors import NotFound

from . import requests, selectors
from .models import PartRequest, StockLocation

MAX_ID = 2**63 - 1


def _quantity(value) -> str:
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


class StockLocationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    name = serializers.CharField()
    kind = serializers.ChoiceField(choices=StockLocation.Kind.choices)
    technician = serializers.IntegerField(allow_null=True, help_text="The van's technician (vans only).")
    partner_company = serializers.IntegerField(allow_null=True, help_text="The store's company (partner stores).")
    active = serializers.BooleanField(help_text="A deactivated location receives no stock.")
    allow_negative = serializers.BooleanField(help_text="Its stock may go below zero.")


class StockLevelSerializer(serializers.Serializer):
    part = serializers.IntegerField()
    part_number = serializers.CharField()
    name = serializers.CharField()
    unit = serializers.CharField()
    on_hand = serializers.CharField(help_text="A decimal number as text (whole for parts counted in units).")
    reserved = serializers.CharField(help_text="Held for assigned work orders.")
    available = serializers.CharField(help_text="On hand less reserved.")


class StockMoveSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    kind = serializers.ChoiceField(choices=["receipt", "transfer_out", "transfer_in", "reservation", "release",
                                            "use", "return", "adjustment"])
    part = serializers.IntegerField()
    part_number = serializers.CharField()
    quantity = serializers.CharField(help_text="Change of the on-hand quantity (negative: stock left).")
    reserved_delta = serializers.CharField(help_text="Change of the reserved quantity.")
    work_order = serializers.IntegerField(allow_null=True)
    counterpart = serializers.IntegerField(allow_null=True, help_text="The other location of a transfer.")
    serials = serializers.ListField(child=serializers.CharField())
    reason = serializers.CharField()


class LevelsQuery(serializers.Serializer):
    q = TextField(required=False, allow_blank=True, max_length=40,
                  help_text="Only parts whose number or name contains this text.")


class MovesQuery(serializers.Serializer):
    before = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID,
                                      help_text="Only rows older than this ledger id (the last `id` of the "
                                      "previous page).")


NOT_FOUND = OpenApiResponse(ErrorSerializer, description="No such location, or not one the caller may see.")
COMMON = {401: OpenApiResponse(ErrorSerializer, description="Not authenticated."),
          403: OpenApiResponse(ErrorSerializer, description="An API client without the scope `stock` (read; write "
                               "for a POST), or a caller whose role may not do this (the message says which).")}


def _location(request, pk: int) -> StockLocation:
    if pk > MAX_ID:
        raise NotFound("No such stock location.")
    return selectors.stock_location_for(location_id=pk, user=request.user)


@extend_schema(tags=["stock"], summary="Stock locations the caller may see",
               responses={200: StockLocationSerializer(many=True), **COMMON})
class StockLocationListView(APIView):
    def get(self, request):
        rows = [
            {"id": loc.pk, "code": loc.code, "name": loc.name, "kind": loc.kind, "technician": loc.technician_id,
             "partner_company": loc.partner_company_id, "active": loc.active, "allow_negative": loc.allow_negative}
            for loc in selectors.stock_locations_visible_to(request.user)
        ]
        return Response(rows)


@extend_schema(tags=["stock"], summary="What one location holds, by part number (at most 500 rows)",
               parameters=[LevelsQuery],
               responses={200: StockLevelSerializer(many=True), 400: OpenApiResponse(ErrorSerializer),
                          404: NOT_FOUND, **COMMON})
class StockLevelListView(APIView):
    def get(self, request, pk: int):
        query = LevelsQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        location = _location(request, pk)
        rows = [
            {"part": lv.part_id, "part_number": lv.part_number, "name": lv.name, "unit": lv.unit,
             "on_hand": _quantity(lv.on_hand), "reserved": _quantity(lv.reserved), "available": _quantity(lv.available)}
            for lv in selectors.stock_on_hand_at(location.pk, search=query.validated_data.get("q", ""), limit=500)
        ]
        return Response(rows)


@extend_schema(tags=["stock"], summary="One location's stock ledger, newest first (50 rows a page)",
               parameters=[MovesQuery],
               responses={200: StockMoveSerializer(many=True), 400: OpenApiResponse(ErrorSerializer),
                          404: NOT_FOUND, **COMMON})
class StockMoveListView(APIView):
    def get(self, request, pk: int):
        query = MovesQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        location = _location(request, pk)
        rows = [
            {"id": m.pk, "created_at": serializers.DateTimeField().to_representation(m.created_at), "kind": m.kind,
             "part": m.part_id, "part_number": m.part.part_number, "quantity": _quantity(m.quantity),
             "reserved_delta": _quantity(m.reserved_delta), "work_order": m.work_order_id,
             "counterpart": m.counterpart_id, "serials": list(m.serials), "reason": m.reason}
            for m in selectors.stock_moves_at(location.pk, before_id=query.validated_data.get("before"))
        ]
        return Response(rows)


# --- part requests ---------------------------------------------------------------------------


class PartRequestLineSerializer(serializers.Serializer):
    part = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    quantity = TextField(max_length=20, help_text="A decimal number as text (whole for parts "
                                     "counted in units).")


class PartRequestLineOutSerializer(PartRequestLineSerializer):
    part_number = serializers.CharField()
    serials = serializers.ListField(child=serializers.CharField(), help_text="Serial numbers shipped.")


class PartRequestSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=PartRequest.Status.choices)
    purpose = serializers.ChoiceField(choices=PartRequest.Purpose.choices)
    technician = serializers.IntegerField()
    work_order = serializers.IntegerField(allow_null=True)
    destination = serializers.IntegerField(help_text="The technician's van.")
    source = serializers.IntegerField(allow_null=True, help_text="Chosen at approval.")
    note = serializers.CharField()
    reason = serializers.CharField(help_text="Why it was rejected or cancelled.")
    lines = PartRequestLineOutSerializer(many=True)
    created_at = serializers.DateTimeField()
    decided_at = serializers.DateTimeField(allow_null=True)
    shipped_at = serializers.DateTimeField(allow_null=True)
    received_at = serializers.DateTimeField(allow_null=True)


class PartRequestCreateSerializer(StrictSerializer):
    work_order = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=MAX_ID,
                                          help_text="One of the caller's jobs; none: restock the van.")
    lines = serializers.ListField(child=PartRequestLineSerializer(), min_length=1, max_length=requests.MAX_LINES)
    note = TextField(required=False, allow_blank=True, max_length=requests.NOTE_MAX)


class ApproveSerializer(StrictSerializer):
    source = serializers.IntegerField(min_value=1, max_value=MAX_ID,
                                      help_text="The location to ship from (an unknown one: 404).")


class RejectSerializer(StrictSerializer):
    reason = TextField(max_length=requests.REASON_MAX, help_text="Why the request is rejected (required).")


class ReasonSerializer(StrictSerializer):
    reason = TextField(required=False, allow_blank=True, max_length=requests.REASON_MAX,
                       help_text="Required to reject.")


class RequestsQuery(serializers.Serializer):
    status = serializers.ChoiceField(choices=PartRequest.Status.choices, required=False)


def _messages(errors) -> list[str]:
    if isinstance(errors, dict):
        return [m for value in errors.values() for m in _messages(value)]
    if isinstance(errors, list):
        return [m for value in errors for m in _messages(value)]
    return [str(errors)]


def _request_row(r: PartRequest) -> dict:
    dt = serializers.DateTimeField()
    at = (lambda v: dt.to_representation(v) if v else None)
    return {
        "id": r.pk, "status": r.status, "purpose": r.purpose, "technician": r.technician_id,
        "work_order": r.work_order_id, "destination": r.destination_id, "source": r.source_id, "note": r.note,
        "reason": r.reason, "created_at": at(r.created_at), "decided_at": at(r.decided_at),
        "shipped_at": at(r.shipped_at), "received_at": at(r.received_at),
        "lines": [{"part": line.part_id, "part_number": line.part.part_number, "quantity": _quantity(line.quantity),
                   "serials": list(line.serials)} for line in r.lines.all()],
    }


def _request_answer(request, pk: int, status: int = 200) -> Response:
    found = requests.part_requests_visible_to(request.user).prefetch_related("lines__part").get(pk=pk)
    return Response(_request_row(found), status=status)


REQUEST_NOT_FOUND = OpenApiResponse(ErrorSerializer, description="No such request, or not one the caller may see.")
STEP_ERRORS = {400: OpenApiResponse(ErrorSerializer), 403: OpenApiResponse(ErrorSerializer),
               404: REQUEST_NOT_FOUND,
               409: OpenApiResponse(ErrorSerializer, description="The request's status no longer allows it "
                                    "(someone was quicker: `request_state`), or not enough stock "
                                    "(`insufficient_stock`), or the van is deactivated."), **COMMON}


class PartRequestListView(APIView):
    @extend_schema(tags=["stock"], summary="Part requests the caller may see, newest first (at most 200)",
                   description="A technician sees their own; office roles, managers and storekeepers all.",
                   parameters=[RequestsQuery], responses={200: PartRequestSerializer(many=True),
                                                          400: OpenApiResponse(ErrorSerializer), **COMMON})
    def get(self, request):
        query = RequestsQuery(data=request.query_params.dict())  # "?status=" is refused, not ignored
        query.is_valid(raise_exception=True)
        rows = requests.part_requests_visible_to(request.user).prefetch_related("lines__part")
        if query.validated_data.get("status"):
            rows = rows.filter(status=query.validated_data["status"])
        return Response([_request_row(r) for r in rows[:200]])

    @extend_schema(tags=["stock"], summary="Request parts to the van (technicians)",
                   request=PartRequestCreateSerializer,
                   responses={201: PartRequestSerializer, 400: OpenApiResponse(ErrorSerializer),
                              403: OpenApiResponse(ErrorSerializer),
                              404: OpenApiResponse(ErrorSerializer, description="Not one of the caller's jobs."),
                              409: OpenApiResponse(ErrorSerializer, description="The caller has no active van."),
                              **COMMON})
    def post(self, request):
        body = PartRequestCreateSerializer(data=request.data)
        if not body.is_valid():  # a line's errors as plain messages under "lines", as every error body has them
            raise serializers.ValidationError({name: _messages(errors) for name, errors in body.errors.items()})
        data = body.validated_data
        created = requests.part_request_create(
            actor=request.user, work_order_id=data.get("work_order"), note=data.get("note", ""),
            lines=[(line["part"], line["quantity"]) for line in data["lines"]])
        return _request_answer(request, created.pk, status=201)


@extend_schema(tags=["stock"], summary="One part request",
               responses={200: PartRequestSerializer, 404: REQUEST_NOT_FOUND, **COMMON})
class PartRequestDetailView(APIView):
    def get(self, request, pk: int):
        found = requests.part_request_for(request_id=pk, user=request.user)
        return _request_answer(request, found.pk)


class _StepView(APIView):
    serializer = None

    def step(self, request, pk: int, data: dict):
        raise NotImplementedError

    def post(self, request, pk: int):
        data = {}
        if self.serializer is not None:
            body = self.serializer(data=request.data)
            body.is_valid(raise_exception=True)
            data = body.validated_data
        if pk > MAX_ID:
            raise NotFound("No such part request.")
        self.step(request, pk, data)
        return _request_answer(request, pk)


@extend_schema(tags=["stock"], summary="Approve a request, choosing the location to ship from (managers, "
               "storekeepers)", request=ApproveSerializer, responses={200: PartRequestSerializer, **STEP_ERRORS})
class PartRequestApproveView(_StepView):
    serializer = ApproveSerializer

    def step(self, request, pk, data):
        requests.part_request_approve(request_id=pk, actor=request.user, source_id=data["source"])


@extend_schema(tags=["stock"], summary="Reject a request, with a reason (managers, storekeepers)",
               request=RejectSerializer, responses={200: PartRequestSerializer, **STEP_ERRORS})
class PartRequestRejectView(_StepView):
    serializer = RejectSerializer

    def step(self, request, pk, data):
        requests.part_request_reject(request_id=pk, actor=request.user, reason=data.get("reason", ""))


@extend_schema(tags=["stock"], summary="Ship an approved request: the transfer out of the source (managers, "
               "storekeepers)", request=None, responses={200: PartRequestSerializer, **STEP_ERRORS})
class PartRequestShipView(_StepView):
    def step(self, request, pk, data):
        requests.part_request_ship(request_id=pk, actor=request.user)


@extend_schema(tags=["stock"], summary="Confirm receipt: the parts go into the van (the technician who asked)",
               request=None, responses={200: PartRequestSerializer, **STEP_ERRORS})
class PartRequestReceiveView(_StepView):
    def step(self, request, pk, data):
        requests.part_request_receive(request_id=pk, actor=request.user)


@extend_schema(tags=["stock"], summary="Cancel a request not shipped yet (the technician who asked)",
               request=ReasonSerializer, responses={200: PartRequestSerializer, **STEP_ERRORS})
class PartRequestCancelView(_StepView):
    serializer = ReasonSerializer

    def step(self, request, pk, data):
        requests.part_request_cancel(request_id=pk, actor=request.user, reason=data.get("reason", ""))
