from functools import wraps

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.db import connection
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views import defaults
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from . import health
from . import roles as R
from .api import api_docs_allowed
from .permissions import may


def office_or_404(view):
    """Pages for agents, dispatchers and managers (and superusers): anyone else logged in gets 404,
    so that nobody learns what exists there; anonymous visitors log in first."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not may(request.user, "core.office_pages"):
            raise Http404(_("No such page."))
        return view(request, *args, **kwargs)

    return wrapped


def home(request):
    """Send each person to where their work is."""
    user = request.user
    if not user.is_authenticated:
        return redirect("intake:request")
    if R.is_office(user):
        return redirect("staff:list")
    if R.has_role(user, R.TECHNICIAN, R.PARTNER_TECHNICIAN):
        return redirect("tech:jobs")
    return render(request, "core/no_role.html", status=403)


def healthz(request):
    """Liveness and database reachability, for the container health check."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"ok": True})


@never_cache
@require_safe
def readyz(request):
    """The servers, the stored files, the migrations, beat and the outbox (``core/health.py``); 503 when one fails."""
    body = health.readiness()
    return JsonResponse(body, status=200 if body["ok"] else 503)


@never_cache
@require_safe
def metrics(request):
    """Prometheus metrics (core/metrics.py), for METRICS_ALLOWED_IPS or the bearer METRICS_TOKEN; 404 to others."""
    from .metrics import CONTENT_TYPE_LATEST, exposition, scrape_allowed

    if not scrape_allowed(request):
        raise Http404
    return HttpResponse(exposition(with_current=True), content_type=CONTENT_TYPE_LATEST)


def ratelimited(request, exception=None):
    return render(request, "core/ratelimited.html", status=429)


def login_locked_out(request, response=None, credentials=None):
    """django-axes' answer to a login refused for too many failures (``AXES_LOCKOUT_CALLABLE``)."""
    return render(request, "core/locked_out.html", {"minutes": settings.LOGIN_LOCKOUT_MINUTES}, status=429)


def app_error_response(request, exc, *, template="core/error.html"):
    """A page for an ApplicationError raised by a service."""
    return render(request, template, {"error": exc}, status=exc.status_code)


def api_docs_page(view):
    """The API's schema and docs (``core.api.ApiDocsPermission``): a visitor who is not logged in is
    sent to log in first, unless the docs are public. The permission itself is checked by the view."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not request.user.is_authenticated and not api_docs_allowed(request.user):
            # An API client with a token is not logged in to the site: let the API's own authentication answer it.
            if "HTTP_AUTHORIZATION" not in request.META:
                return redirect_to_login(request.get_full_path())
        return view(request, *args, **kwargs)

    return wrapped


def _is_api(request) -> bool:
    return request.path.startswith("/api/")


def not_found(request, exception=None):
    """404: under /api/ in the API's error shape (an address no route matches, such as
    ``/api/v1/work-orders/abc/``), elsewhere Django's page."""
    if _is_api(request):
        return JsonResponse({"error": "not_found", "detail": _("Not found.")}, status=404)
    return defaults.page_not_found(request, exception)


def server_error(request):
    """500: under /api/ in the API's error shape, elsewhere Django's page."""
    if _is_api(request):
        return JsonResponse({"error": "server_error", "detail": _("A server error occurred.")}, status=500)
    return defaults.server_error(request)


def bad_request(request, exception=None):
    """400 for what Django refuses before a view runs (e.g. a suspicious request): under
    /api/ in the API's error shape, elsewhere Django's page."""
    if _is_api(request):
        return JsonResponse({"error": "invalid", "detail": _("The request could not be read.")}, status=400)
    return defaults.bad_request(request, exception)
