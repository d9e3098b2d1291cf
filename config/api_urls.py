from django.urls import include, path
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.routers import DefaultRouter

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
    },
)
class TokenView(ObtainAuthToken):
    pass


urlpatterns = [
    path("auth/token/", TokenView.as_view(), name="api-token"),
    path("", include(router.urls)),
]
