from django.urls import include, path
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.routers import DefaultRouter

from core.api import TextField
from core.parsers import BoundedFormParser, BoundedJSONParser
from workorders.api import ERRORS, ErrorSerializer, WorkOrderViewSet

router = DefaultRouter()
router.register("work-orders", WorkOrderViewSet, basename="workorder")


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
    },
)
class TokenView(ObtainAuthToken):
    parser_classes = (BoundedFormParser, BoundedJSONParser)


urlpatterns = [
    path("auth/token/", TokenView.as_view(), name="api-token"),
    path("", include(router.urls)),
]
