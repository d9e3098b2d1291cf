from axes.handlers.proxy import AxesProxyHandler
from django.urls import include, path
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import exceptions, serializers
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.routers import DefaultRouter

from core.api import LoginLockedOut
from workorders.api import ErrorSerializer, WorkOrderViewSet

router = DefaultRouter()
router.register("work-orders", WorkOrderViewSet, basename="workorder")


@extend_schema(
    tags=["auth"],
    summary="Get an API token",
    description="Exchange a username and password for a token; send it as `Authorization: Token <token>`.",
    auth=[],
    responses={
        200: inline_serializer("Token", {"token": serializers.CharField()}),
        400: OpenApiResponse(ErrorSerializer, description="Wrong username or password."),
        429: OpenApiResponse(ErrorSerializer, description="Too many failed logins for this username from this "
                                                          "address (`locked_out`); `Retry-After` says how long "
                                                          "at most."),
    },
)
class TokenView(ObtainAuthToken):
    """DRF's token view under the login lockout (django-axes checks the attempt inside ``authenticate``)."""

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
    path("", include(router.urls)),
]
