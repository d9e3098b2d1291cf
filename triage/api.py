"""Triage in the REST API (agents, dispatchers and managers; 404 for anyone else):

- ``POST /api/v1/triage/suggest/``: suggestions for a description being taken (the phone-intake
  page asks this as the agent types), with likely duplicates of the caller's open orders;
- ``GET /api/v1/triage/work-orders/<id>/``: the same for an order already taken;
- ``GET /api/v1/triage/model/``: the model in use, its held-out accuracy and the acceptance rate.

The work order's own detail (``/api/v1/work-orders/<id>/``) is left as it is: a suggestion costs
a model prediction and a query, which a benchmarked path that integrations poll should not pay.
"""

from datetime import timedelta

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import TextField
from core.errors import InvalidInput, NotFound
from core.validation import normalize_phone
from core.permissions import may
from workorders.api.views import ERRORS, ErrorSerializer
from workorders.selectors import workorder_visible_to
from workorders.services import DESCRIPTION_MAX

from .selectors import acceptance_rate, current_model, likely_duplicates, suggest

NOT_OFFICE = OpenApiResponse(ErrorSerializer, description="No such work order, or the caller is not an agent, "
                                                          "dispatcher, manager or unrestricted API client.")
NO_SCOPE = OpenApiResponse(ErrorSerializer, description="An API client without the scope `triage` (the message "
                                                        "names it).")

_TYPE_FIELDS = {
    "id": serializers.IntegerField(),
    "code": serializers.CharField(),
    "name": serializers.CharField(),
    "confidence": serializers.FloatField(help_text="The model's probability, 0-1."),
}
_TYPE = inline_serializer("TriageServiceType", _TYPE_FIELDS)
SUGGESTION = inline_serializer("TriageSuggestion", {
    "model_version": serializers.IntegerField(allow_null=True),
    "suggested": serializers.BooleanField(help_text="False: nothing is suggested (`reason` says why)."),
    "reason": serializers.ChoiceField(
        choices=["", "no_model", "too_little_data", "no_description", "low_confidence"],
        help_text="Why nothing is suggested: no model yet, the model learned from too little data, no "
                  "description, or no answer at least `TRIAGE_MIN_CONFIDENCE` likely."),
    "message": serializers.CharField(help_text="The reason in words, in the request's language."),
    "service_type": inline_serializer("TriageServiceTypeSuggested", _TYPE_FIELDS, allow_null=True,
                                      help_text="The most likely service type, if likely enough."),
    "alternatives": serializers.ListField(child=_TYPE, help_text="The next most likely service types."),
    "priority": inline_serializer("TriagePriority", {
        "value": serializers.IntegerField(), "label": serializers.CharField(), "confidence": serializers.FloatField(),
    }, allow_null=True),
    "skills": serializers.ListField(child=inline_serializer("TriageSkill", {
        "code": serializers.CharField(), "name": serializers.CharField(), "min_level": serializers.IntegerField(),
    }), help_text="The skills the suggested service type needs."),
    "duplicates": serializers.ListField(child=inline_serializer("TriageDuplicate", {
        "id": serializers.IntegerField(), "number": serializers.CharField(), "status": serializers.CharField(),
        "created_at": serializers.DateTimeField(), "description": serializers.CharField(),
        "similarity": serializers.FloatField(), "url": serializers.CharField(),
    }), help_text=f"Open orders of the same customer or site from the last {settings.TRIAGE_DUPLICATE_DAYS} days "
                  "with a similar description, most alike first."),
})


def _office_or_404(user) -> None:
    """Office roles, and API clients with no restriction (with the scope ``triage``)."""
    if not may(user, "triage.suggest"):
        raise NotFound(_("No such page."))


def _with_duplicates(answer: dict, duplicates: list[dict]) -> dict:
    answer["duplicates"] = [{**d, "url": reverse("staff:detail", args=[d["id"]])} for d in duplicates]
    return answer


class SuggestRequest(serializers.Serializer):
    description = TextField(max_length=DESCRIPTION_MAX, help_text="The problem in the caller's words.")
    contact_phone = TextField(required=False, allow_blank=True, max_length=32,
                              help_text="The caller's mobile number, any common form: their open orders are "
                                        "checked for duplicates.")
    customer = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    site = serializers.IntegerField(required=False, allow_null=True, min_value=1)

    def to_internal_value(self, data):
        # DRF's CharField takes a number as its text; the schema says a string, and so do we.
        if isinstance(data, dict):
            wrong = {name: [_("Not a string.")] for name in ("description", "contact_phone")
                     if name in data and not isinstance(data[name], str)}
            if wrong:
                raise serializers.ValidationError(wrong)
        return super().to_internal_value(data)


@extend_schema(
    tags=["triage"],
    summary="Suggest a service type, priority and skills for a description",
    description="Learned from the company's closed orders (jieba words, TF-IDF, logistic regression). Nothing "
    "is applied: the caller shows the suggestion and lets a person accept or change it. Below the confidence "
    "threshold, or when the model learned from too little data, `suggested` is false.",
    request=SuggestRequest,
    responses={200: SUGGESTION, 400: ERRORS[400], 401: ERRORS[401], 403: NO_SCOPE, 404: NOT_OFFICE, 413: ERRORS[413],
               415: ERRORS[415]},
)
class SuggestView(APIView):
    def post(self, request):
        _office_or_404(request.user)
        body = SuggestRequest(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        phone = ""
        if data.get("contact_phone", "").strip():
            try:
                phone = normalize_phone(data["contact_phone"], field="contact_phone")
            except InvalidInput:
                phone = ""  # a number still being typed: no duplicates by phone, the rest as usual
        answer = suggest(data["description"])
        duplicates = likely_duplicates(user=request.user, description=data["description"],
                                       customer_id=data.get("customer"), site_id=data.get("site"), phone=phone)
        return Response(_with_duplicates(answer, duplicates))


@extend_schema(
    tags=["triage"],
    summary="Suggestions for a work order",
    description="What the model suggests for the order's description, and its likely duplicates (other open "
    "orders of its customer or site).",
    responses={200: SUGGESTION, 401: ERRORS[401], 403: NO_SCOPE, 404: NOT_OFFICE},
)
class WorkOrderSuggestView(APIView):
    def get(self, request, pk: int):
        _office_or_404(request.user)
        row = workorder_visible_to(request.user).filter(pk=pk).values(
            "id", "description", "customer_id", "site_id").first()
        if row is None:
            raise NotFound(_("No such work order."))
        answer = suggest(row["description"])
        duplicates = likely_duplicates(user=request.user, description=row["description"],
                                       customer_id=row["customer_id"], site_id=row["site_id"], exclude_id=row["id"])
        return Response(_with_duplicates(answer, duplicates))


@extend_schema(
    tags=["triage"],
    summary="The triage model in use",
    description="Its version, when it was trained, from how many closed orders, its held-out top-1 and top-3 "
    "accuracy overall and per service type, and how often agents accepted its suggestions in the last 30 days.",
    responses={
        200: inline_serializer("TriageModelInfo", {
            "version": serializers.IntegerField(allow_null=True),
            "trained_at": serializers.DateTimeField(allow_null=True),
            "samples": serializers.IntegerField(),
            "held_out": serializers.IntegerField(),
            "usable": serializers.BooleanField(),
            "note": serializers.CharField(),
            "accuracy": serializers.FloatField(allow_null=True),
            "accuracy_top3": serializers.FloatField(allow_null=True),
            "per_class": serializers.DictField(),
            "acceptance": inline_serializer("TriageAcceptance", {
                "shown": serializers.IntegerField(), "accepted": serializers.IntegerField(),
                "rate": serializers.FloatField(allow_null=True),
            }),
        }),
        401: ERRORS[401],
        403: NO_SCOPE, 404: NOT_OFFICE,
    },
)
class ModelInfoView(APIView):
    def get(self, request):
        _office_or_404(request.user)
        row, _fitted = current_model()
        since = timezone.now() - timedelta(days=30)
        return Response({
            "version": row.version if row else None,
            "trained_at": row.trained_at if row else None,
            "samples": row.samples if row else 0,
            "held_out": row.held_out if row else 0,
            "usable": bool(row and row.usable),
            "note": row.note if row else "",
            "accuracy": row.accuracy if row else None,
            "accuracy_top3": row.accuracy_top3 if row else None,
            "per_class": row.per_class if row else {},
            "acceptance": acceptance_rate(since=since),
        })
