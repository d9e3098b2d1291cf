"""The API against its own schema: schemathesis generates requests from /api/schema/ for every
operation, as every role and anonymously, and checks each answer.

Checked: no server error, and every answer as the schema says (status code, content type,
headers, body); a request the schema calls valid is not refused as bad input (400), and one
it calls invalid is refused. The run is derandomized (the same cases on every run) and
bounded (``MAX_EXAMPLES`` per operation and role).

The data the operations need is seeded with fixed ids (a work order in every state, the
technicians, a customer with a site and equipment), so that the configuration below, built
when the module is collected, can name them. Where the schema states a rule in words only
(an existing technician; both ends of a window, the end after the start; a site of the
caller's customer), ``_follow_the_stated_rules`` makes the valid cases follow it; the
invalid cases are left as generated.
"""

import datetime as dt
import io
import itertools
import json
import uuid
import zlib

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.test import override_settings
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from PIL import Image
from rest_framework.authtoken.models import Token

from catalog.models import Part, ServiceType, Skill
from core import roles as R
from core.errors import InvalidInput
from core.validation import normalize_phone
from customers.models import Customer, Equipment, Site
from technicians.models import Technician
from tests.factories import (
    CustomerFactory,
    EquipmentFactory,
    PartnerCompanyFactory,
    PartnerTechnicianFactory,
    ServiceTypeFactory,
    SiteFactory,
    TechnicianFactory,
    UserFactory,
    WorkOrderFactory,
)
from workorders.lifecycle import Status
from workorders.models import WorkOrder
from workorders.selectors import workorder_etag

MAX_EXAMPLES = 25
ROLES = [R.AGENT, R.DISPATCHER, R.TECHNICIAN, R.PARTNER_TECHNICIAN, R.MANAGER, None]

SERVICE_TYPE_ID, SERVICE_TYPE = 9001, "ac-repair"
TECHNICIAN_ID, OTHER_TECHNICIAN_ID, PARTNER_TECHNICIAN_ID = 9101, 9102, 9103
TECHNICIAN_IDS = [TECHNICIAN_ID, OTHER_TECHNICIAN_ID, PARTNER_TECHNICIAN_ID]
CUSTOMER_ID, CUSTOMER_PHONE, SITE_ID, EQUIPMENT_ID = 9201, "+8613800009201", 9301, 9401
PART_ID = 9601
SKILL_ID, SKILL = 9701, "fuzz-skill"
PARTNER_COMPANY_ID = 9801
WORK_ORDER_IDS = {status: 9500 + i for i, status in enumerate(Status.values)}
PASSWORD = "fuzz-password"


def _token(role) -> str:
    return f"fuzz{role or 'anonymous'}".replace("_", "").ljust(40, "0")[:40]


CONFIG = schemathesis.Config.from_dict({
    "seed": 14,
    "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True, "database": "none"},
    "checks": {
        "not_a_server_error": {"enabled": True},
        "status_code_conformance": {"enabled": True},
        "content_type_conformance": {"enabled": True},
        "response_headers_conformance": {"enabled": True},
        "response_schema_conformance": {"enabled": True},
        "positive_data_acceptance": {"enabled": True},
        "negative_data_rejection": {"enabled": True},
        # A change without `If-Match` is 428 Precondition Required (RFC 6585), as the schema says.
        "missing_required_header": {"enabled": True,
                                    "expected-statuses": ["400", "401", "403", "406", "415", "422", "428"]},
    },
})

# A phone number is text of format "phone": one phonenumbers finds valid (core/validation.py).
PHONES = [CUSTOMER_PHONE, "13812345678", "138 1234 5678", "+86 139 0000 1111", "+8615012345678"]
schemathesis.openapi.format("phone", st.sampled_from(PHONES))

with override_settings(SECURE_SSL_REDIRECT=False, API_DOCS_PUBLIC=True):
    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application(), config=CONFIG)


def _is_positive(case) -> bool:
    return case.meta is not None and case.meta.generation.mode.is_positive


def _pick(value, choices):
    """One of ``choices`` for a generated ``value`` (the same one for the same value)."""
    return choices[zlib.crc32(str(value).encode()) % len(choices)]


def _follow_the_stated_rules(case) -> None:
    """The rules the schema states in words (descriptions), not in JSON Schema."""
    query, body = case.query, case.body
    if case.path_parameters and "id" in case.path_parameters:
        ids = {"/api/v1/technicians/": TECHNICIAN_IDS, "/api/v1/parts/": [PART_ID],
               "/api/v1/service-types/": [SERVICE_TYPE_ID], "/api/v1/customers/": [CUSTOMER_ID],
               "/api/v1/sites/": [SITE_ID], "/api/v1/equipment/": [EQUIPMENT_ID],
               }.get(case.path.split("{")[0], list(WORK_ORDER_IDS.values()))
        case.path_parameters["id"] = _pick(case.path_parameters["id"], ids + [1])  # 1: no such row
    if query:
        query.pop("cursor", None)  # opaque: only one from a `next` or `previous` link is valid
        if query.get("technician") not in (None, ""):  # an existing technician
            query["technician"] = _pick(query["technician"], TECHNICIAN_IDS)
        if query.get("service_type") not in (None, ""):  # an existing service type
            query["service_type"] = SERVICE_TYPE_ID
        if case.path in ("/api/v1/sites/", "/api/v1/equipment/") and query.get("customer") not in (None, ""):
            query["customer"] = CUSTOMER_ID  # an existing customer
        if case.path == "/api/v1/equipment/" and query.get("site") not in (None, ""):
            query["site"] = SITE_ID
    if case.method.upper() == "PATCH":
        _follow_the_rules_of_a_change(case)
    if not isinstance(body, dict):
        return
    if case.path.startswith("/api/v1/technicians/"):
        _follow_the_rules_of_technicians(case)
    if case.path.startswith(("/api/v1/parts/", "/api/v1/service-types/")):
        _follow_the_rules_of_the_catalog(case)
    if case.path in ("/api/v1/sites/", "/api/v1/equipment/") or case.path.startswith(("/api/v1/sites/{",
                                                                                      "/api/v1/equipment/{")):
        _follow_the_rules_of_customer_rows(case)
    if case.path.startswith("/api/v1/customers/") and isinstance(body.get("phone"), str):
        try:  # a phone number of format "phone" (the coverage phase does not know the format)
            normalize_phone(body["phone"])
        except InvalidInput:
            body["phone"] = _pick(body["phone"], PHONES)
    if "username" in body and case.path == "/api/v1/auth/token/":  # a user's credentials
        body.update(username="fuzz-agent", password=PASSWORD)
    if isinstance(body.get("photos"), list):  # arrive with photos (multipart): pictures, not any bytes
        body["photos"] = [_PNG] * len(body["photos"])
    if body.get("technician") is not None:  # an active technician
        body["technician"] = _pick(body["technician"], TECHNICIAN_IDS)
    if "service_type" in body:  # an active service type
        body["service_type"] = SERVICE_TYPE
    if isinstance(body.get("custom"), dict) and case.path.startswith("/api/v1/work-orders/"):
        body["custom"] = {}  # keys: the service type's custom fields (the fuzzed type asks none)
    for start, end in (("preferred_start", "preferred_end"), ("appointment_start", "appointment_end")):
        # Both ends of a window or neither; the end after the start.
        if (body.get(start) is None) != (body.get(end) is None):
            body.pop(start, None)
            body.pop(end, None)
        elif body.get(start) is not None and body[end] <= body[start]:
            body[start], body[end] = "2030-05-01T09:00:00+08:00", "2030-05-01T11:00:00+08:00"
    if isinstance(body.get("start"), str) and isinstance(body.get("end"), str):
        # A drop's window (dispatch): the end after the start, at most 12 hours long.
        try:
            start, end = dt.datetime.fromisoformat(body["start"]), dt.datetime.fromisoformat(body["end"])
            bad = not (start < end <= start + dt.timedelta(hours=12))
        except (TypeError, ValueError):
            bad = False  # the server's to refuse
        if bad:
            body["start"], body["end"] = "2030-05-01T09:00:00+08:00", "2030-05-01T11:00:00+08:00"
    if case.path.endswith("/location/") and {"latitude", "longitude"} <= set(body):
        # A pin on the dispatch board: a point in the service region (GEOCODER_BOUNDS).
        body["latitude"], body["longitude"] = _pick(body["latitude"], [(31.2304, 121.4737), (39.9042, 116.4074)])
    if (body.get("latitude") is None) != (body.get("longitude") is None):  # both or neither
        body.pop("latitude", None)
        body.pop("longitude", None)
    if "contact_phone" in body:  # a create
        if body.get("external_ref"):  # unique among work orders: a fresh one for each create
            body["external_ref"] = f"{body['external_ref'][:60]}-{next(_REFS)}"
        try:
            normalize_phone(body["contact_phone"])
        except InvalidInput:  # (a case of the coverage phase, which does not know the format)
            body["contact_phone"] = _pick(body["contact_phone"], PHONES)
        if body.get("site") is not None or body.get("equipment") is not None:
            # The site and equipment of the customer with this number.
            body["contact_phone"] = CUSTOMER_PHONE
            body["site"] = SITE_ID if body.get("site") is not None else None
            body["equipment"] = EQUIPMENT_ID if body.get("equipment") is not None else None
        if body.get("site") is None and not (body.get("address") or "").strip():
            body["address"] = "100 Century Avenue, Shanghai"  # required unless a site is given
    if case.headers and case.headers.get("Idempotency-Key"):
        # A key names one request: the same key with another body is refused (422).
        text = json.dumps(body, sort_keys=True, default=str)
        case.headers["Idempotency-Key"] = str(uuid.uuid5(uuid.NAMESPACE_URL, text))


_REFS = itertools.count(1)


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "steelblue").save(buffer, "PNG")
    return buffer.getvalue()


_PNG = _png()


_CUSTOMER_ROWS = {"/api/v1/customers/{id}/": Customer, "/api/v1/sites/{id}/": Site,
                  "/api/v1/equipment/{id}/": Equipment, "/api/v1/technicians/{id}/": Technician,
                  "/api/v1/parts/{id}/": Part, "/api/v1/service-types/{id}/": ServiceType}


def _follow_the_rules_of_the_catalog(case) -> None:
    """A part or service type: named in one language at least; skills that exist, each once; a
    number, code and reference no other row has; a flow that strands no order."""
    body = case.body
    names = [body.get(name) for name in ("name_zh_hans", "name_en") if name in body]
    if case.method.upper() == "POST" or names:
        if not any(isinstance(name, str) and name.strip() for name in names):
            body["name_en"] = "Fuzz"
    if isinstance(body.get("skills"), list):
        body["skills"] = [{**item, "skill": _pick(item.get("skill"), [SKILL_ID, SKILL])}
                          for item in body["skills"][:1] if isinstance(item, dict)]
    if "transition_roles" in body:  # the table's roles: a flow that would strand orders is 400
        body["transition_roles"] = {}
    suffix = next(_REFS) if case.method.upper() == "POST" else case.path_parameters["id"]
    for name in ("part_number", "code", "external_ref"):
        if isinstance(body.get(name), str) and body[name].strip():
            body[name] = f"{body[name][:30].strip()}-{suffix}"


def _follow_the_rules_of_technicians(case) -> None:
    """A technician: skills that exist, each named once; the seeded partner company; a username,
    employee number and reference no other technician has."""
    body = case.body
    if isinstance(body.get("skills"), list):
        body["skills"] = [{**item, "skill": _pick(item.get("skill"), [SKILL_ID, SKILL])}
                          for item in body["skills"][:1] if isinstance(item, dict)]
    if body.get("partner_company") is not None:
        body["partner_company"] = PARTNER_COMPANY_ID
    if isinstance(body.get("phone"), str) and body["phone"].strip():
        try:  # a phone number of format "phone" (the coverage phase does not know the format)
            normalize_phone(body["phone"])
        except InvalidInput:
            body["phone"] = _pick(body["phone"], PHONES)
    if case.method.upper() == "POST":
        serial = next(_REFS)
        for name in ("username", "employee_number", "external_ref"):
            if isinstance(body.get(name), str) and body[name].strip():
                body[name] = f"{body[name][:30].strip()}-{serial}"
    elif body.get("external_ref") or body.get("employee_number"):
        pk = case.path_parameters["id"]
        for name in ("employee_number", "external_ref"):
            if isinstance(body.get(name), str) and body[name].strip():
                body[name] = f"{body[name][:30].strip()}-{pk}"  # this technician's own


def _follow_the_rules_of_customer_rows(case) -> None:
    """A site or equipment: of the seeded customer, at its site; both coordinates or neither;
    the warranty not ending before the installation."""
    body = case.body
    if not isinstance(body, dict):
        return
    if "customer" in body:
        body["customer"] = CUSTOMER_ID
    if body.get("site") is not None:
        body["site"] = SITE_ID
    start, end = body.get("install_date"), body.get("warranty_end")
    if isinstance(start, str) and isinstance(end, str) and end < start:
        body["install_date"], body["warranty_end"] = end, start
    if ("latitude" in body) != ("longitude" in body) or (body.get("latitude") is None) != (
            body.get("longitude") is None):
        body.pop("latitude", None)
        body.pop("longitude", None)


def _follow_the_rules_of_a_change(case) -> None:
    """A PATCH: made from the row's current version (a customer, site or equipment may name it in
    the body instead), the customer's site and equipment, a reference no other order has, both
    ends of the window or neither."""
    pk = case.path_parameters["id"]
    model = _CUSTOMER_ROWS.get(case.path, WorkOrder)
    updated_at = model.objects.filter(pk=pk).values_list("updated_at", flat=True).first()
    case.headers = {**(case.headers or {}), "If-Match": workorder_etag(updated_at)}
    body = case.body
    if not isinstance(body, dict):
        return
    if model is not WorkOrder:
        if body.get("version") is not None:
            body["version"] = workorder_etag(updated_at).strip('"')
        return
    if body.get("site") is not None:
        body["site"] = SITE_ID
    if body.get("equipment") is not None:
        body["equipment"] = EQUIPMENT_ID
    if ("preferred_start" in body) != ("preferred_end" in body):
        body.pop("preferred_start", None)
        body.pop("preferred_end", None)
    if body.get("external_ref"):
        body["external_ref"] = f"{body['external_ref'][:60]}-{pk}"  # this order's own


@pytest.fixture(autouse=True)
def _in_the_test_transaction():
    """The WSGI handler closes the database connection after each request; the test client
    turns that off while it runs a request, and so does this test."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def _seed():
    ServiceTypeFactory(pk=SERVICE_TYPE_ID, code=SERVICE_TYPE)
    Part.objects.create(pk=PART_ID, part_number="FUZZ-1", name="Filter", unit_price="12.50")
    tech = TechnicianFactory(pk=TECHNICIAN_ID, user__username="fuzz-technician")
    TechnicianFactory(pk=OTHER_TECHNICIAN_ID, user__username="fuzz-technician-2")
    Skill.objects.create(pk=SKILL_ID, code=SKILL, name="Fuzz skill")
    partner = PartnerTechnicianFactory(pk=PARTNER_TECHNICIAN_ID, user__username="fuzz-partner",
                                       partner_company=PartnerCompanyFactory(pk=PARTNER_COMPANY_ID))
    customer = CustomerFactory(pk=CUSTOMER_ID, phone=CUSTOMER_PHONE)
    site = SiteFactory(pk=SITE_ID, customer=customer)
    EquipmentFactory(pk=EQUIPMENT_ID, customer=customer, site=site)
    for status, pk in WORK_ORDER_IDS.items():
        has_technician = status not in (Status.NEW, Status.CANCELLED)
        holder = partner if status in (Status.ACCEPTED, Status.IN_PROGRESS) else tech
        WorkOrderFactory(pk=pk, status=status, customer=customer, site=site, service_type_id=SERVICE_TYPE_ID,
                         technician=holder if has_technician else None,
                         hold_return_status=Status.IN_PROGRESS if status == Status.ON_HOLD else "")
    users = {
        R.AGENT: UserFactory(username="fuzz-agent", password=PASSWORD, roles=[R.AGENT]),
        R.DISPATCHER: UserFactory(username="fuzz-dispatcher", roles=[R.DISPATCHER]),
        R.MANAGER: UserFactory(username="fuzz-manager", roles=[R.MANAGER]),
        R.TECHNICIAN: tech.user,
        R.PARTNER_TECHNICIAN: partner.user,
    }
    return {role: Token.objects.create(user=user, key=_token(role)).key for role, user in users.items()}


@pytest.fixture(params=ROLES, ids=lambda role: role or "anonymous")
def caller(request, db, settings):
    """The headers of a caller in a role (or none), with the data seeded."""
    settings.LANGUAGE_CODE = "en"
    tokens = _seed()
    role = request.param
    return {"Authorization": f"Token {tokens[role]}"} if role else {}


@schema.parametrize()
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow], deadline=None)
def test_every_answer_is_what_the_schema_says(case, caller):
    if _is_positive(case):
        _follow_the_stated_rules(case)
    case.call_and_validate(headers=caller)
