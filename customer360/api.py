"""The customer search in the REST API: ``GET /api/v1/customers/search/?q=``, what the page
``/staff/customers/?q=`` finds, as JSON (agents, dispatchers and managers; 404 for anyone else)."""

from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import TEXT_PATTERN
from core.errors import NotFound
from core.permissions import may
from customers.models import Customer
from customers.selectors import CUSTOMER_SEARCH_SHOWN, customer_search
from workorders.api.views import ERRORS, ErrorSerializer
from workorders.search import MAX_QUERY, search_terms

MATCH_KINDS = ["code", "phone", "name", "address", "serial"]


@extend_schema(
    tags=["customers"],
    summary="Find a customer",
    description="One text finds customers by customer code, name (ranked by trigram similarity), phone number "
    "(any common form, e.g. `+86 138-0000-1234`; three or more digits find numbers holding them), address "
    "fragment or equipment serial (three characters or more for fragments): exact codes, numbers and serials "
    f"first, at most {CUSTOMER_SEARCH_SHOWN}. For agents, dispatchers and managers. An empty `q` finds nothing.",
    parameters=[
        OpenApiParameter(name="q", location=OpenApiParameter.QUERY, required=False,
                         type={"type": "string", "maxLength": MAX_QUERY, "pattern": TEXT_PATTERN},
                         description="What to look for."),
    ],
    responses={
        200: inline_serializer("CustomerSearchResult", {
            "query": serializers.CharField(help_text="The text searched for, spaces collapsed."),
            "customers": inline_serializer("CustomerFound", {
                "id": serializers.IntegerField(),
                "code": serializers.CharField(allow_null=True),
                "name": serializers.CharField(),
                "phone": serializers.CharField(),
                "tier": serializers.ChoiceField(choices=Customer.Tier.choices),
                "matched": serializers.ListField(child=serializers.ChoiceField(choices=MATCH_KINDS),
                                                 help_text="What the text matched."),
                "url": serializers.CharField(help_text="The customer page."),
            }, many=True),
        }),
        400: ERRORS[400],
        401: ERRORS[401],
        404: OpenApiResponse(ErrorSerializer, description="The caller is not an agent, dispatcher or manager."),
    },
)
class CustomerSearchView(APIView):
    def get(self, request):
        if not may(request.user, "core.office_pages"):
            raise NotFound(_("No such page."))
        terms = search_terms(request.query_params.get("q", ""))
        rows = customer_search(text=terms.text, phone=terms.phone, digits=terms.digits) if terms.text else []
        return Response({
            "query": terms.text,
            "customers": [{**row, "url": reverse("c360:customer", args=[row["id"]])} for row in rows],
        })
