from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from .errors import ApplicationError


def exception_handler(exc, context):
    """Application errors become JSON with their status; the rest is DRF's."""
    if isinstance(exc, ApplicationError):
        return Response(exc.as_dict(), status=exc.status_code)
    return drf_exception_handler(exc, context)
