"""The dispatch board's drop in the REST API: the same service and checks as the board's page.

``POST /api/v1/dispatch/work-orders/{id}/drop/`` with ``{"technician", "start", "end", "version"}``:
assign the order (from the queue) or re-assign it (another time or technician) in that window.
"""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from core.permissions import allowed_by
from workorders.api.views import ERRORS, ErrorSerializer

from .selectors import workorder_version
from .services import workorder_drop, workorder_site_place


class DropSerializer(serializers.Serializer):
    """A drop on the Gantt, as the board (and an API client) sends it."""

    technician = serializers.IntegerField(min_value=1, help_text="The technician's id (the row dropped on).")
    start = serializers.DateTimeField(help_text="Start of the window (ISO 8601; without an offset, the company's "
                                      "time zone).")
    end = serializers.DateTimeField(help_text="End of the window: after the start, at most 12 hours after it.")
    version = serializers.CharField(max_length=64, help_text="The work order's `version` as the caller saw it (the "
                                    "board's data, or the answer to the last drop); a drop on an order changed "
                                    "since is refused (409 `stale`).")

    def validate(self, attrs):
        for key in ("start", "end"):
            if timezone.is_naive(attrs[key]):
                attrs[key] = timezone.make_aware(attrs[key])
        return attrs


# Dispatchers, managers and superusers, as on the board's pages.
IsDispatcher = allowed_by("dispatch.use_board")


def drop_answer(work_order, action: str) -> dict:
    return {
        "ok": True,
        "action": action or "none",
        "work_order": work_order.pk,
        "technician": work_order.technician_id,
        "start": timezone.localtime(work_order.appointment_start).isoformat() if work_order.appointment_start else None,
        "end": timezone.localtime(work_order.appointment_end).isoformat() if work_order.appointment_end else None,
        "version": workorder_version(work_order.updated_at, work_order.status, work_order.technician_id,
                                     work_order.appointment_start, work_order.appointment_end),
    }


@extend_schema(
    tags=["dispatch"],
    summary="Assign or move a work order to a technician and window (the board's drag and drop)",
    description="From the queue (status new) this assigns; a booking (assigned or accepted) is re-assigned, to "
    "another time or technician. The same checks as any assignment: skills, partner scope, shift, no double "
    "booking, capacity.",
    request=DropSerializer,
    responses={
        200: inline_serializer("Drop", {
            "ok": serializers.BooleanField(), "action": serializers.CharField(),
            "work_order": serializers.IntegerField(), "technician": serializers.IntegerField(),
            "start": serializers.DateTimeField(), "end": serializers.DateTimeField(),
            "version": serializers.CharField(),
        }),
        400: ERRORS[400], 401: ERRORS[401], 403: ERRORS[403], 404: ERRORS[404],
        409: OpenApiResponse(ErrorSerializer, description="Refused: double booking or capacity (`double_booked`, "
                             "`over_capacity`), the order changed since the caller saw it (`stale`), or its "
                             "status does not allow it."),
        413: ERRORS[413], 415: ERRORS[415],
    },
)
class DropView(APIView):
    permission_classes = [IsDispatcher]

    def post(self, request, pk: int):
        serializer = DropSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        work_order, action = workorder_drop(
            work_order_id=pk, technician_id=data["technician"], start=data["start"], end=data["end"],
            seen_version=data["version"], actor=request.user,
        )
        return Response(drop_answer(work_order, action))


class PlaceSerializer(serializers.Serializer):
    """Where the dispatcher put an order's pin."""

    # Both up to ±180: a pair given the wrong way round is turned round when that puts it in the region.
    latitude = serializers.FloatField(min_value=-180, max_value=180, help_text="Degrees north (GCJ-02, as the map). "
                                      "The point must lie in the service region (`GEOCODER_BOUNDS`, China by default).")
    longitude = serializers.FloatField(min_value=-180, max_value=180, help_text="Degrees east.")


def place_answer(work_order, site) -> dict:
    return {"ok": True, "work_order": work_order.pk, "site": site.pk, "latitude": float(site.latitude),
            "longitude": float(site.longitude), "precision": site.location_precision}


@extend_schema(
    tags=["dispatch"],
    summary="Place a work order's site on the map by hand (the board's pin drag)",
    description="Stores the point on the order's site with precision `manual`; geocoding never overwrites it "
    "and the site's next orders use it. A point outside the service region (`GEOCODER_BOUNDS`) is refused; a "
    "latitude and longitude given the wrong way round are taken the right way.",
    request=PlaceSerializer,
    responses={
        200: inline_serializer("Placed", {
            "ok": serializers.BooleanField(), "work_order": serializers.IntegerField(),
            "site": serializers.IntegerField(), "latitude": serializers.FloatField(),
            "longitude": serializers.FloatField(), "precision": serializers.CharField(),
        }),
        400: ERRORS[400], 401: ERRORS[401], 403: ERRORS[403], 404: ERRORS[404], 413: ERRORS[413], 415: ERRORS[415],
    },
)
class PlaceView(APIView):
    permission_classes = [IsDispatcher]

    def post(self, request, pk: int):
        serializer = PlaceSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        work_order, site = workorder_site_place(
            work_order_id=pk, latitude=data["latitude"], longitude=data["longitude"], actor=request.user
        )
        return Response(place_answer(work_order, site))
