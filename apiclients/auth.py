"""Signing in as an API client: ``Authorization: Api-Key <prefix>.<secret>``.

``ApiKeyAuthentication`` is the last of the API's authentication classes: a request with a
user's token or a session is answered by the ones before it and never reaches this one (the
benchmarked paths do no more work than before). For a request with a client's key it

1. finds the key by its prefix, kept per process like the users' tokens (``core/auth.py``): a
   key or a client saved or deleted (revoked, rotated, deactivated, rescoped) drops the copies in
   every process within a second, any change within ``AUTH_MAX_AGE_SECONDS``;
2. checks the secret against the stored SHA-512 hash (djangorestframework-api-key's hasher),
   then whether the key is revoked or expired and the client active: each failure is 401 with
   its own sentence (``error`` is ``authentication_failed``), never 500; an unknown or wrong key
   says only that it is not valid;
3. checks the scope: the endpoint's resource (``RESOURCE_OF_URL``; an endpoint named there by no
   resource is refused) read for GET/HEAD/OPTIONS, write for the rest: 403 otherwise;
4. counts the request against the client's rate (``requests_per_minute``, DRF's throttle on the
   shared cache): 429 with ``Retry-After`` beyond it;
5. logs the request as the client's (logger ``apiclients.requests``: client, key prefix, method,
   path, with the request's id) and answers the client's service user, carrying the client's
   restriction (``core.roles.client_scope``) for the selectors.
"""

import logging
from dataclasses import dataclass

from django.core.cache import caches
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import SAFE_METHODS
from rest_framework.throttling import SimpleRateThrottle
from rest_framework_api_key.crypto import KeyGenerator

from core.auth import AUTH_MAX_AGE_SECONDS, user_by_pk
from core.refcache import VersionedCache, receiver_for

from .models import ApiClient, ApiKey

KEYWORD = "api-key"
logger = logging.getLogger("apiclients.requests")

KEYS = VersionedCache("api_keys", max_age=AUTH_MAX_AGE_SECONDS, max_entries=10_000)
_GENERATOR = KeyGenerator()

# The resource of each endpoint, by URL name (or a router's basename, before the "-"). A new
# endpoint of the API joins this table, else clients' keys are refused on it (403).
RESOURCE_OF_URL = {
    "workorder": "work_orders",
    "api-dispatch-drop": "work_orders",
    "api-dispatch-place": "work_orders",
    "api-workorder-events": "work_orders",
    "api-workorder-attachments": "work_orders",
    "api-workorder-completion-reports": "work_orders",
    "api-workorder-surveys": "work_orders",
    "technician": "technicians",
    "servicetype": "service_types",
    "part": "parts",
    "api-stock-locations": "stock",
    "api-stock-levels": "stock",
    "api-stock-moves": "stock",
    "api-customer-search": "customers",
    "customer": "customers",
    "site": "customers",
    "equipment": "customers",
    "api-invoicing-pending": "invoicing",
    "api-invoicing-batches": "invoicing",
    "api-invoicing-batch": "invoicing",
    "api-invoicing-release": "invoicing",
    "api-triage-suggest": "triage",
    "api-triage-workorder": "triage",
    "api-triage-model": "triage",
    "api-part-requests": "stock",
    "api-part-request": "stock",
    "api-part-request-approve": "stock",
    "api-part-request-reject": "stock",
    "api-part-request-ship": "stock",
    "api-part-request-receive": "stock",
    "api-part-request-cancel": "stock",
}


@dataclass(frozen=True)
class KeyRow:
    """What a request needs of a key and its client, kept per process."""

    prefix: str
    hashed_key: str
    revoked: bool
    expiry_date: object
    client_id: int
    client_name: str
    active: bool
    scopes: frozenset
    scope: tuple  # core.roles.client_scope: ("all",), ("partner", id), ("customer", id)
    user_id: int
    per_minute: int

    def allows(self, resource: str | None, write: bool) -> bool:
        if resource is None:
            return False
        return f"{resource}:write" in self.scopes or (not write and f"{resource}:read" in self.scopes)


class _Unknown(Exception):
    pass


_ROW_FIELDS = ("hashed_key", "revoked", "expiry_date", "client_id", "client__name", "client__active",
               "client__scopes", "client__partner_company_id", "client__customer_id", "client__user_id",
               "client__requests_per_minute")


def key_row(prefix: str) -> KeyRow | None:
    """The key with this prefix and its client, or None."""

    def load():
        values = ApiKey.objects.filter(prefix=prefix).values_list(*_ROW_FIELDS).first()
        if values is None:
            raise _Unknown
        hashed, revoked, expiry, client_id, name, active, scopes, partner_id, customer_id, user_id, rate = values
        scope = ("partner", partner_id) if partner_id else ("customer", customer_id) if customer_id else ("all",)
        return KeyRow(prefix, hashed, revoked, expiry, client_id, name, active, frozenset(scopes or ()), scope,
                      user_id, rate)

    try:
        return KEYS.get(prefix, load)
    except _Unknown:
        return None


class ClientRateThrottle(SimpleRateThrottle):
    """DRF's throttle with the client's own rate, counted per client on the rate limits' cache
    (Redis, shared by the workers; while it is down, counted in each process)."""

    def __init__(self, row: KeyRow):
        # Looked up here, not when the module loads: a process that never sees a key never opens
        # this cache (Django closes every opened cache after each request).
        self.cache = caches["ratelimit"]
        self.rate = f"{row.per_minute}/min"
        self.client_id = row.client_id
        super().__init__()

    def get_cache_key(self, request, view):
        return f"throttle_apiclient_{self.client_id}"


@dataclass(frozen=True)
class ClientAuth:
    """``request.auth`` of a client's request."""

    client_id: int
    client_name: str
    prefix: str


def resource_of(request) -> str | None:
    match = getattr(request._request, "resolver_match", None)
    name = getattr(match, "url_name", None) or ""
    return RESOURCE_OF_URL.get(name) or RESOURCE_OF_URL.get(name.split("-", 1)[0])


class ApiKeyAuthentication(BaseAuthentication):
    """``Authorization: Api-Key <key>``: an API client (see the module's docstring)."""

    def authenticate(self, request):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        keyword, _sep, key = header.partition(" ")
        if keyword.lower() != KEYWORD:
            return None
        key = key.strip()
        prefix, dot, _secret = key.partition(".")
        row = key_row(prefix) if dot and 0 < len(prefix) <= 8 and len(key) <= 100 else None
        if row is None or not _GENERATOR.verify(key, row.hashed_key):
            raise exceptions.AuthenticationFailed(_("This API key is not valid."))
        if row.revoked:
            raise exceptions.AuthenticationFailed(_("This API key was revoked."))
        if row.expiry_date is not None and row.expiry_date <= timezone.now():
            raise exceptions.AuthenticationFailed(_("This API key has expired."))
        if not row.active:
            raise exceptions.AuthenticationFailed(_("This API client is inactive."))
        user = user_by_pk(row.user_id)
        if user is None or not user.is_active:
            raise exceptions.AuthenticationFailed(_("This API client is inactive."))
        write = request.method not in SAFE_METHODS
        resource = resource_of(request)
        if not row.allows(resource, write):
            if resource is None:
                raise exceptions.PermissionDenied(_("This API client may not use this endpoint."))
            needed = f"{resource}:{'write' if write else 'read'}"
            raise exceptions.PermissionDenied(
                (_("This API client may not change this: it needs the scope %(scope)s.")
                 if write and row.allows(resource, False)
                 else _("This API client may not use this endpoint: it needs the scope %(scope)s."))
                % {"scope": needed})
        throttle = ClientRateThrottle(row)
        if not throttle.allow_request(request, None):
            raise exceptions.Throttled(wait=throttle.wait())
        logger.info("api client %s (%s, key %s): %s %s", row.client_name, row.client_id, row.prefix,
                    request.method, request.get_full_path())
        user.api_client_scope = row.scope
        user.api_client_scopes = row.scopes
        user.api_client_name = row.client_name
        return user, ClientAuth(row.client_id, row.client_name, row.prefix)

    def authenticate_header(self, request):
        return "Api-Key"


def connect_key_cache():
    """Drop the kept keys when a key or a client is saved or deleted (apiclients.apps)."""
    from django.db.models.signals import post_delete, post_save

    drop = receiver_for(KEYS)
    for model in (ApiKey, ApiClient):
        post_save.connect(drop, sender=model, weak=False, dispatch_uid=f"apiclients.keys-save-{model.__name__}")
        post_delete.connect(drop, sender=model, weak=False, dispatch_uid=f"apiclients.keys-del-{model.__name__}")
