"""What belongs to one work order, read through the API under the order:
``/api/v1/work-orders/{id}/events/``, ``…/attachments/``, ``…/surveys/`` (and the completion
reports, ``completion/api.py``, with the same view).

Nested rather than top-level lists: these rows have no version of their own and no life apart from
their order, so the order's visibility is exactly theirs (``selectors.workorder_visible_to``: an
order the caller cannot see is 404, as one that does not exist), and an integration already syncs
orders by ``updated_after`` and is told of their events by webhooks; under an order it reads what
is new since its last run with ``created_after`` (events and attachments are only ever added).
Read-only: events are written by the lifecycle, attachments by the pages, surveys by customers.
"""

import django_filters
from django.utils.translation import gettext_lazy as _
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers

from core.api import KeysetPagination, RoleRequired
from core.errors import NotFound
from core.filters import UtcDateTimeFilter
from core.pagination import API_SORTS
from core.rows import SYNC_PARAMETERS
from core.permissions import may

from .output import AttachmentSerializer, EventSerializer
from .views import ERRORS
from ..models import Attachment, Survey, WorkOrderEvent
from ..selectors import workorder_visible_to

CHILD_SORTS = {name: fields for name, fields in API_SORTS.items() if name.lstrip("-") in ("id", "created_at")}


class ChildPagination(KeysetPagination):
    """Oldest first unless asked otherwise (an order's story reads forwards)."""

    sorts = CHILD_SORTS
    default_sort = "id"


class ChildFilter(django_filters.FilterSet):
    created_after = UtcDateTimeFilter(field_name="created_at", lookup_expr="gte", label=_("Created from"))
    created_before = UtcDateTimeFilter(field_name="created_at", lookup_expr="lt", label=_("Created before"))


CHILD_PARAMETERS = [p for p in SYNC_PARAMETERS if p.name in ("created_after", "created_before")]
WORK_ORDER_PATH = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The work order's id.")


def child_schema(plural: str, serializer, description: str):
    return extend_schema(
        tags=["work orders"],
        summary=f"List a work order's {plural}",
        description=description + " Seen by whoever sees the work order; another order is 404. Keyset pages "
        "(follow `next`), oldest first; `created_after` gives what was added since a moment. A parameter given "
        "empty is ignored.",
        parameters=[WORK_ORDER_PATH, *CHILD_PARAMETERS],
        responses={200: serializer(many=True), 400: ERRORS[400], 401: ERRORS[401], 403: ERRORS[403],
                   404: ERRORS[404]},
    )


class WorkOrderChildList(generics.GenericAPIView):
    """The rows of ``rows(work_order_id)`` of a work order the caller sees, in keyset pages."""

    permission_classes = [RoleRequired]
    pagination_class = ChildPagination
    filter_backends = [DjangoFilterBackend]
    filterset_class = None

    def rows(self, work_order_id: int):
        raise NotImplementedError

    def get_queryset(self):
        pk = int(self.kwargs["pk"])
        if not (0 < pk < 2**63 and workorder_visible_to(self.request.user).filter(pk=pk).exists()):
            raise NotFound(str(_("No such work order.")))
        return self.rows(pk)

    def get(self, request, pk):
        rows = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(self.get_serializer(rows, many=True).data)


class EventFilter(ChildFilter):
    class Meta:
        model = WorkOrderEvent
        fields = []


class AttachmentFilter(ChildFilter):
    class Meta:
        model = Attachment
        fields = []


class SurveyFilter(ChildFilter):
    class Meta:
        model = Survey
        fields = []


@child_schema("events", EventSerializer, "The order's audit trail: its creation and every transition, each with "
              "who (username and role), the note and where (a technician's position, when shared).")
class EventListView(WorkOrderChildList):
    queryset = WorkOrderEvent.objects.none()
    serializer_class = EventSerializer
    filterset_class = EventFilter

    def rows(self, work_order_id):
        return WorkOrderEvent.objects.filter(work_order_id=work_order_id).select_related("actor")


@child_schema("attachments", AttachmentSerializer, "The photos and documents of the order (the customer's "
              "photos, the technician's, signatures), their metadata: the files are served to the pages.")
class AttachmentListView(WorkOrderChildList):
    queryset = Attachment.objects.none()
    serializer_class = AttachmentSerializer
    filterset_class = AttachmentFilter

    def rows(self, work_order_id):
        return Attachment.objects.filter(work_order_id=work_order_id)


class SurveySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=Survey.State.choices)
    language = serializers.CharField()
    created_at = serializers.DateTimeField(help_text="When it was sent to the customer.")
    expires_at = serializers.DateTimeField()
    answered_at = serializers.DateTimeField(allow_null=True)
    satisfaction = serializers.IntegerField(allow_null=True, help_text="1 to 5.")
    solved = serializers.BooleanField(allow_null=True, help_text="Whether the problem was solved.")
    recommend = serializers.IntegerField(allow_null=True, help_text="0 to 10.")
    comment = serializers.CharField(allow_blank=True)
    needs_callback = serializers.BooleanField(help_text="A low score: the office calls the customer back.")
    callback_at = serializers.DateTimeField(allow_null=True)
    callback_outcome = serializers.CharField(allow_blank=True)


@child_schema("surveys", SurveySerializer, "The satisfaction surveys sent after the order was resolved, with the "
              "customer's answers and whether the office has called back (the private link is not shown).")
class SurveyListView(WorkOrderChildList):
    queryset = Survey.objects.none()
    serializer_class = SurveySerializer
    filterset_class = SurveyFilter

    def rows(self, work_order_id):
        # The customer's feedback and the office's call-back are the office's (the escalations page):
        # field roles and partner-restricted API clients do not read them, whatever orders they see.
        if not may(self.request.user, "workorders.read_feedback"):
            raise NotFound(str(_("No such work order.")))
        return Survey.objects.filter(work_order_id=work_order_id)

