from axes.handlers.proxy import AxesProxyHandler
from django.urls import include, path
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import exceptions, serializers
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.routers import DefaultRouter

from catalog.api import PartViewSet, ServiceTypeViewSet
from completion.api import BatchDetailView, BatchListView, BatchReleaseView, CompletionReportListView, PendingView
from core.api import LoginLockedOut, TextField
from core.parsers import BoundedFormParser, BoundedJSONParser
from customer360.api import CustomerSearchView
from customers.api import CustomerViewSet, EquipmentViewSet, SiteViewSet
from dispatch.api import DropView, PlaceView
from inventory.api import (
    PartRequestApproveView,
    PartRequestCancelView,
    PartRequestDetailView,
    PartRequestListView,
    PartRequestReceiveView,
    PartRequestRejectView,
    PartRequestShipView,
    StockLevelListView,
    StockLocationListView,
    StockMoveListView,
)
from technicians.api import TechnicianViewSet
from triage.api import ModelInfoView, SuggestView, WorkOrderSuggestView
from workorders.api.views import ERRORS, ErrorSerializer, WorkOrderViewSet
from workorders.api.children import AttachmentListView, EventListView, SurveyListView

router = DefaultRouter()
router.register("work-orders", WorkOrderViewSet, basename="workorder")
router.register("technicians", TechnicianViewSet, basename="technician")
router.register("service-types", ServiceTypeViewSet, basename="servicetype")
router.register("parts", PartViewSet, basename="part")
router.register("customers", CustomerViewSet, basename="customer")
router.register("sites", SiteViewSet, basename="site")
router.register("equipment", EquipmentViewSet, basename="equipment")


@extend_schema(
    tags=["auth"],
    summary="Get an API token",
    description="Exchange a username and password for a token; send it as `Authorization: Token <token>`.",
    auth=[],
    request=inline_serializer("AuthToken", {"username": TextField(), "password": TextField(trim_whitespace=False)}),
    responses={
        200: inline_serializer("Token", {"token": serializers.CharField()}),
        400: OpenApiResponse(ErrorSerializer, description="Wrong username or password."),
        413: ERRORS[413],
        415: OpenApiResponse(ErrorSerializer, description="The body is neither JSON nor a form."),
        429: OpenApiResponse(ErrorSerializer, description="Too many failed logins for this username from this "
                                                          "address (`locked_out`); `Retry-After` says how long "
                                                          "at most."),
    },
)
class TokenView(ObtainAuthToken):
    """DRF's token view under the login lockout (django-axes checks the attempt inside ``authenticate``),
    reading a form or JSON (bounded, core/parsers.py)."""

    parser_classes = (BoundedFormParser, BoundedJSONParser)

    def post(self, request, *args, **kwargs):
        try:
            response = super().post(request, *args, **kwargs)
        except exceptions.ValidationError:
            if getattr(request, "axes_locked_out", False):  # set by axes on this request
                raise LoginLockedOut() from None
            raise
        # As after a login on a page: this username's failures from this address are forgotten.
        AxesProxyHandler.reset_attempts(ip_address=request.axes_ip_address, username=request.data.get("username"))
        return response


urlpatterns = [
    path("auth/token/", TokenView.as_view(), name="api-token"),
    path("dispatch/work-orders/<int:pk>/drop/", DropView.as_view(), name="api-dispatch-drop"),
    path("stock/locations/", StockLocationListView.as_view(), name="api-stock-locations"),
    path("stock/locations/<int:pk>/levels/", StockLevelListView.as_view(), name="api-stock-levels"),
    path("stock/locations/<int:pk>/moves/", StockMoveListView.as_view(), name="api-stock-moves"),
    path("stock/requests/", PartRequestListView.as_view(), name="api-part-requests"),
    path("stock/requests/<int:pk>/", PartRequestDetailView.as_view(), name="api-part-request"),
    path("stock/requests/<int:pk>/approve/", PartRequestApproveView.as_view(), name="api-part-request-approve"),
    path("stock/requests/<int:pk>/reject/", PartRequestRejectView.as_view(), name="api-part-request-reject"),
    path("stock/requests/<int:pk>/ship/", PartRequestShipView.as_view(), name="api-part-request-ship"),
    path("stock/requests/<int:pk>/receive/", PartRequestReceiveView.as_view(), name="api-part-request-receive"),
    path("stock/requests/<int:pk>/cancel/", PartRequestCancelView.as_view(), name="api-part-request-cancel"),
    path("dispatch/work-orders/<int:pk>/location/", PlaceView.as_view(), name="api-dispatch-place"),
    path("customers/search/", CustomerSearchView.as_view(), name="api-customer-search"),
    path("invoicing/pending/", PendingView.as_view(), name="api-invoicing-pending"),
    path("invoicing/batches/", BatchListView.as_view(), name="api-invoicing-batches"),
    path("invoicing/batches/<int:pk>/", BatchDetailView.as_view(), name="api-invoicing-batch"),
    path("invoicing/batches/<int:pk>/release/", BatchReleaseView.as_view(), name="api-invoicing-release"),
    path("triage/suggest/", SuggestView.as_view(), name="api-triage-suggest"),
    path("triage/work-orders/<int:pk>/", WorkOrderSuggestView.as_view(), name="api-triage-workorder"),
    path("triage/model/", ModelInfoView.as_view(), name="api-triage-model"),
    path("work-orders/<int:pk>/events/", EventListView.as_view(), name="api-workorder-events"),
    path("work-orders/<int:pk>/attachments/", AttachmentListView.as_view(), name="api-workorder-attachments"),
    path("work-orders/<int:pk>/completion-reports/", CompletionReportListView.as_view(),
         name="api-workorder-completion-reports"),
    path("work-orders/<int:pk>/surveys/", SurveyListView.as_view(), name="api-workorder-surveys"),
    path("", include(router.urls)),
]
