"""Stock in the REST API (read only): locations, what one holds, its ledger.

``GET /api/v1/stock/locations/``, ``.../locations/{id}/levels/``, ``.../locations/{id}/moves/``:
office roles see every location, a technician their own van (others: 404, as on the pages).
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import ErrorSerializer, TextField
from core.errors import NotFound

from . import selectors
from .models import StockLocation

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
COMMON = {401: OpenApiResponse(ErrorSerializer, description="Not authenticated.")}


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
