"""REST API for invoicing (completion/invoicing.py), for managers and the accounting system's
integration: what waits, hand it over as a batch, read a batch, release one."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import ErrorSerializer
from core.errors import NotFound
from core.permissions import allowed_by
from workorders.api.children import ChildFilter, WorkOrderChildList, child_schema

from .invoicing import invoice_batch_create, invoice_batch_release, invoicing_pending_summary
from .models import CompletionReport, InvoiceBatch


ManagersOnly = allowed_by("completion.hand_over_for_invoicing")


class PendingSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="Completion reports waiting to be handed over.")
    total = serializers.DecimalField(max_digits=14, decimal_places=2, help_text="Their charges in all.")


class PartLineSerializer(serializers.Serializer):
    part_number = serializers.CharField()
    name = serializers.CharField()
    unit = serializers.CharField()
    quantity = serializers.CharField()
    unit_price = serializers.CharField()
    amount = serializers.CharField()


class InvoiceLineSerializer(serializers.Serializer):
    report = serializers.IntegerField(help_text="The completion report's id.")
    work_order = serializers.CharField(help_text="The work order's number.")
    work_order_ref = serializers.CharField(help_text="The order's `external_ref` (empty when unset).")
    customer_code = serializers.CharField(help_text="The customer's code in the company's records (may be empty).")
    customer = serializers.CharField()
    address = serializers.CharField()
    service_type = serializers.CharField(help_text="The service type's code.")
    technician = serializers.CharField()
    completed_at = serializers.CharField(help_text="When the customer signed, local time, ISO 8601.")
    labour_minutes = serializers.IntegerField()
    labour_rate = serializers.CharField()
    labour_amount = serializers.CharField()
    callout_fee = serializers.CharField()
    parts_amount = serializers.CharField()
    covered_amount = serializers.CharField(help_text="Taken off by a service contract or the warranty.")
    coverage_reason = serializers.CharField(help_text="The contract or warranty that covered it (may be empty).")
    total_amount = serializers.CharField(help_text="What the customer pays.")
    parts = PartLineSerializer(many=True)


class InvoiceBatchSerializer(serializers.ModelSerializer):
    number = serializers.CharField(source="__str__", help_text="INV-000001")
    released = serializers.SerializerMethodField()

    class Meta:
        model = InvoiceBatch
        fields = ["id", "number", "created_at", "count", "total", "released", "released_at"]

    def get_released(self, batch) -> bool:
        return batch.released_at is not None


class InvoiceBatchDetailSerializer(InvoiceBatchSerializer):
    lines = InvoiceLineSerializer(many=True, help_text="The reports as handed over.")

    class Meta(InvoiceBatchSerializer.Meta):
        fields = [*InvoiceBatchSerializer.Meta.fields, "lines"]


COMMON = {
    401: OpenApiResponse(ErrorSerializer, description="Not authenticated."),
    403: OpenApiResponse(ErrorSerializer, description="Not a manager, nor an unrestricted API client with the scope "
                         "`invoicing` (the message names it)."),
}
NOT_FOUND = OpenApiResponse(ErrorSerializer, description="No such batch.")


def _batch(pk: int) -> InvoiceBatch:
    batch = InvoiceBatch.objects.filter(pk=pk).first()
    if batch is None:
        raise NotFound("No such invoicing batch.")
    return batch


@extend_schema(tags=["invoicing"], summary="What waits to be invoiced", responses={200: PendingSerializer, **COMMON})
class PendingView(APIView):
    permission_classes = [ManagersOnly]

    def get(self, request):
        return Response(PendingSerializer(invoicing_pending_summary()).data)


class BatchListView(APIView):
    permission_classes = [ManagersOnly]

    @extend_schema(tags=["invoicing"], summary="Batches handed over, newest first (the last 100)",
                   responses={200: InvoiceBatchSerializer(many=True), **COMMON})
    def get(self, request):
        batches = InvoiceBatch.objects.defer("lines")[:100]
        return Response(InvoiceBatchSerializer(batches, many=True).data)

    @extend_schema(
        tags=["invoicing"], summary="Hand over everything that waits as one batch", request=None,
        description="Takes the completion reports that wait (closed orders, reviewed work), oldest first, at "
                    "most `INVOICING_BATCH_MAX`, and marks them: they are never handed over again unless the "
                    "batch is released. Nothing waiting: 204.",
        responses={201: InvoiceBatchDetailSerializer, 204: OpenApiResponse(description="Nothing waits."), **COMMON},
    )
    def post(self, request):
        batch = invoice_batch_create(actor=request.user)
        if batch is None:
            return Response(status=204)
        return Response(InvoiceBatchDetailSerializer(batch).data, status=201)


@extend_schema(tags=["invoicing"], summary="One batch with its lines",
               responses={200: InvoiceBatchDetailSerializer, 404: NOT_FOUND, **COMMON})
class BatchDetailView(APIView):
    permission_classes = [ManagersOnly]

    def get(self, request, pk: int):
        return Response(InvoiceBatchDetailSerializer(_batch(pk)).data)


@extend_schema(tags=["invoicing"], summary="Release a batch the accounting system refused", request=None,
               description="Its reports wait again and go into the next batch; the batch stays, marked released.",
               responses={200: InvoiceBatchSerializer, 404: NOT_FOUND,
                          409: OpenApiResponse(ErrorSerializer, description="Already released."), **COMMON})
class BatchReleaseView(APIView):
    permission_classes = [ManagersOnly]

    def post(self, request, pk: int):
        batch = invoice_batch_release(batch_id=_batch(pk).pk, actor=request.user)
        return Response(InvoiceBatchSerializer(batch).data)


# --- A work order's completion reports: /api/v1/work-orders/{id}/completion-reports/ -----------


class ReportPartSerializer(serializers.Serializer):
    part = serializers.IntegerField(source="part_id", help_text="The part's id.")
    part_number = serializers.CharField(help_text="As when it was used (so are the name, unit and price).")
    name = serializers.CharField()
    unit = serializers.CharField()
    quantity = serializers.DecimalField(max_digits=10, decimal_places=2)
    unit_price = serializers.DecimalField(max_digits=10, decimal_places=2)
    amount = serializers.DecimalField(max_digits=12, decimal_places=2)


class CompletionReportSerializer(serializers.Serializer):
    """A technician's report, as the customer's service report shows it, with the review (the
    company's costs and the review's comment are left out)."""

    id = serializers.IntegerField()
    technician = serializers.IntegerField(source="technician_id", help_text="The technician's id.")
    work_done = serializers.CharField()
    labour_minutes = serializers.IntegerField()
    travel_minutes = serializers.IntegerField()
    labour_rate = serializers.DecimalField(max_digits=10, decimal_places=2, help_text="Per hour.")
    labour_amount = serializers.DecimalField(max_digits=10, decimal_places=2)
    callout_fee = serializers.DecimalField(max_digits=10, decimal_places=2)
    parts_amount = serializers.DecimalField(max_digits=12, decimal_places=2)
    covered_amount = serializers.DecimalField(max_digits=12, decimal_places=2,
                                              help_text="Taken off by a service contract or the warranty.")
    coverage_reason = serializers.CharField(allow_blank=True)
    total_amount = serializers.DecimalField(max_digits=12, decimal_places=2)
    signer_name = serializers.CharField()
    signed_at = serializers.DateTimeField()
    needs_second_visit = serializers.BooleanField()
    second_visit_reason = serializers.CharField(allow_blank=True)
    follow_up_work_order = serializers.IntegerField(source="follow_up_work_order_id", allow_null=True)
    review_status = serializers.ChoiceField(choices=CompletionReport.Review.choices)
    reviewed_at = serializers.DateTimeField(allow_null=True)
    invoiced = serializers.SerializerMethodField(help_text="Handed over for invoicing.")
    parts = ReportPartSerializer(many=True)
    created_at = serializers.DateTimeField(help_text="When it was submitted.")

    def get_invoiced(self, report) -> bool:
        return report.invoice_batch_id is not None


class CompletionReportFilter(ChildFilter):
    class Meta:
        model = CompletionReport
        fields = []


@child_schema("completion reports", CompletionReportSerializer, "The technician's reports that resolved the order "
              "(a report sent back and revised stays one report), with the work done, time, charges, the parts "
              "used (as priced then), the signature's name and the review.")
class CompletionReportListView(WorkOrderChildList):
    queryset = CompletionReport.objects.none()
    serializer_class = CompletionReportSerializer
    filterset_class = CompletionReportFilter

    def rows(self, work_order_id):
        return CompletionReport.objects.filter(work_order_id=work_order_id).prefetch_related("parts")
