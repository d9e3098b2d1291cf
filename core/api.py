from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from rest_framework import exceptions
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from . import roles as R
from .errors import ApplicationError


def exception_handler(exc, context):
    """Every API error is JSON {"error", "detail", "fields"?} with its status.

    Application errors carry their own; DRF's (validation, authentication,
    permission, not found, ...) are put in the same shape, so that a client
    reads one kind of error body everywhere.
    """
    if isinstance(exc, ApplicationError):
        return Response(exc.as_dict(), status=exc.status_code)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None or not isinstance(exc, exceptions.APIException):
        return response
    if isinstance(exc, exceptions.ValidationError):
        fields = response.data if isinstance(response.data, dict) else {"non_field_errors": response.data}
        response.data = {"error": "invalid", "detail": _("Some fields are not valid."), "fields": fields}
    else:
        code = getattr(exc.detail, "code", None) or exc.default_code
        response.data = {"error": code, "detail": str(exc.detail)}
    return response


class ApiDocsPermission(BasePermission):
    """The API's schema and docs pages: for staff (a user with a role, or the admin's staff flag),
    or for anyone when ``settings.API_DOCS_PUBLIC`` says so.

    The schema names every address, field and filter of the API: a map worth keeping from
    strangers unless the company chooses to publish it.
    """

    def has_permission(self, request, view):
        return api_docs_allowed(request.user)


def api_docs_allowed(user) -> bool:
    if settings.API_DOCS_PUBLIC:
        return True
    if user is None or not user.is_authenticated:
        return False
    return bool(user.is_staff or user.is_superuser or R.roles_of(user))


class LoginLockedOut(exceptions.APIException):
    """A login refused for too many failures (django-axes): 429, ``{"error": "locked_out", "detail"}``."""

    status_code = 429
    default_code = "locked_out"

    def __init__(self):
        minutes = settings.LOGIN_LOCKOUT_MINUTES
        if minutes:
            detail = ngettext(
                "Too many failed logins for this user from your address. Try again in %(minutes)d minute, "
                "or ask an administrator to unlock the account.",
                "Too many failed logins for this user from your address. Try again in %(minutes)d minutes, "
                "or ask an administrator to unlock the account.",
                minutes,
            ) % {"minutes": minutes}
            self.wait = minutes * 60
        else:
            detail = _("Too many failed logins for this user from your address. Ask an administrator to unlock "
                       "the account.")
            self.wait = None
        super().__init__(detail)
