"""The REST API at /api/v1/: what an integration (or a page's script) sees.

Each test is a small story: given some work orders and a caller, when the
caller makes a request, then the answer (status, JSON body) and the database
are as a user of the API would expect.
"""

import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from core import roles as R
from tests.factories import (
    CustomerFactory,
    EquipmentFactory,
    PartnerTechnicianFactory,
    ServiceTypeFactory,
    SiteFactory,
    UserFactory,
    WorkOrderFactory,
)
from workorders.lifecycle import Status
from workorders.models import WorkOrder, WorkOrderEvent

LIST = "/api/v1/work-orders/"
SHANGHAI = ZoneInfo("Asia/Shanghai")


def detail_url(pk):
    return f"/api/v1/work-orders/{pk}/"


def transition_url(pk):
    return f"/api/v1/work-orders/{pk}/transitions/"


@pytest.fixture
def api(db):
    """``api(user)``: a client that authenticates as ``user`` with an API token (or anonymous)."""

    def as_user(user=None):
        client = APIClient()
        if user is not None:
            token, _ = Token.objects.get_or_create(user=user)
            client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        return client

    return as_user


def request_body(**changes):
    body = {
        "contact_name": "王芳",
        "contact_phone": "138 1234 5678",
        "contact_email": "wang@example.com",
        "address": "上海市浦东新区世纪大道100号",
        "service_type": "ac-repair",
        "description": "空调漏水，室内机一直滴水。",
        "priority": 3,
        "preferred_start": "2026-05-01T09:00:00+08:00",
        "preferred_end": "2026-05-01T12:00:00+08:00",
    }
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}


def ids(response):
    return [row["id"] for row in response.json()["results"]]


# --------------------------------------------------------------------------
# Create
# --------------------------------------------------------------------------


def test_agent_creates_a_work_order_with_its_number_and_creation_event(api, agent, service_type):
    response = api(agent).post(LIST, request_body(), format="json")

    assert response.status_code == 201
    body = response.json()
    wo = WorkOrder.objects.get()
    assert body["id"] == wo.pk
    assert body["number"] == f"WO-{datetime.now(SHANGHAI).year}-{wo.pk:06d}"
    assert response["Location"] == detail_url(wo.pk)
    assert body["status"] == "new"
    assert body["channel"] == "api"
    assert body["priority"] == 3
    assert body["contact_phone"] == "+8613812345678", "the phone is stored in E.164 form"
    assert body["customer"]["phone"] == "+8613812345678"
    assert body["service_type"]["code"] == "ac-repair"
    assert body["technician"] is None
    assert {a["action"] for a in body["available_actions"]} == {"cancel"}, "an agent may only cancel a new order"
    event = WorkOrderEvent.objects.get(work_order=wo)
    assert (event.action, event.from_status, event.to_status) == ("create", "", "new")
    assert (event.actor, event.actor_role) == (agent, R.AGENT)

    detail = api(agent).get(detail_url(wo.pk)).json()
    assert [(e["action"], e["to_status"], e["actor"], e["actor_role"]) for e in detail["events"]] == [
        ("create", "new", "agent", "agent")
    ]


def test_a_repeat_caller_is_linked_to_their_customer_site_and_equipment(api, dispatcher, service_type):
    customer = CustomerFactory(phone="+8613900001111")
    site = SiteFactory(customer=customer)
    equipment = EquipmentFactory(customer=customer, site=site)

    response = api(dispatcher).post(
        LIST,
        request_body(contact_phone="139 0000 1111", address="", site=site.pk, equipment=equipment.pk),
        format="json",
    )

    assert response.status_code == 201, response.json()
    wo = WorkOrder.objects.get()
    assert (wo.customer, wo.site, wo.equipment) == (customer, site, equipment)
    assert wo.address == site.address
    assert WorkOrderEvent.objects.get(work_order=wo).actor_role == R.DISPATCHER


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"contact_phone": "12345"}, "contact_phone"),
        ({"contact_phone": "not a phone"}, "contact_phone"),
        ({"description": None}, "description"),
        ({"description": "   "}, "description"),
        ({"contact_name": None}, "contact_name"),
        ({"contact_email": "not-an-email"}, "contact_email"),
        ({"preferred_end": "2026-05-01T08:00:00+08:00"}, "preferred_end"),
        ({"preferred_start": "tomorrow"}, "preferred_start"),
        ({"service_type": "teleportation"}, "service_type"),
        ({"priority": 9}, "priority"),
        ({"address": ""}, "address"),
        ({"description": "x" * 4001}, "description"),
    ],
)
def test_bad_input_is_refused_naming_the_field_and_creates_nothing(api, agent, service_type, changes, field):
    response = api(agent).post(LIST, request_body(**changes), format="json")

    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "invalid"
    assert body["detail"]
    assert field in body["fields"], body
    assert WorkOrder.objects.count() == 0
    assert WorkOrderEvent.objects.count() == 0


def test_several_bad_fields_are_reported_together(api, agent, service_type):
    response = api(agent).post(
        LIST, request_body(contact_phone="123", description=None, service_type="nope"), format="json"
    )

    assert response.status_code == 400
    assert {"contact_phone", "description", "service_type"} <= set(response.json()["fields"])


def test_a_site_of_another_customer_is_refused(api, agent, service_type):
    CustomerFactory(phone="+8613812345678")
    someone_elses_site = SiteFactory()  # of another customer

    response = api(agent).post(LIST, request_body(site=someone_elses_site.pk), format="json")

    assert response.status_code == 400
    assert "site" in response.json()["fields"]
    assert WorkOrder.objects.count() == 0


def test_equipment_of_another_customer_is_refused_even_for_a_new_caller(api, agent, service_type):
    someone_elses_equipment = EquipmentFactory()

    response = api(agent).post(LIST, request_body(equipment=someone_elses_equipment.pk), format="json")

    assert response.status_code == 400
    assert "equipment" in response.json()["fields"]
    assert WorkOrder.objects.count() == 0


def test_a_replayed_request_with_the_same_idempotency_key_returns_the_first_work_order(api, agent, service_type):
    key = str(uuid.uuid4())
    client = api(agent)

    first = client.post(LIST, request_body(), format="json", HTTP_IDEMPOTENCY_KEY=key)
    replay = client.post(LIST, request_body(), format="json", HTTP_IDEMPOTENCY_KEY=key)

    assert first.status_code == 201
    assert replay.status_code == 200
    assert replay.json()["id"] == first.json()["id"]
    assert replay.json()["number"] == first.json()["number"]
    assert WorkOrder.objects.count() == 1
    assert WorkOrderEvent.objects.count() == 1

    another = client.post(LIST, request_body(), format="json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()))
    assert another.status_code == 201
    assert WorkOrder.objects.count() == 2


def test_an_idempotency_key_that_is_not_a_uuid_is_refused(api, agent, service_type):
    response = api(agent).post(LIST, request_body(), format="json", HTTP_IDEMPOTENCY_KEY="twice-please")

    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["fields"]
    assert WorkOrder.objects.count() == 0


@pytest.mark.parametrize("who", ["technician", "partner_technician", "no_role"])
def test_field_roles_and_users_without_a_role_may_not_create(api, request, service_type, who):
    user = UserFactory(username="plain") if who == "no_role" else request.getfixturevalue(who).user

    response = api(user).post(LIST, request_body(), format="json")

    assert response.status_code == 403
    assert response.json()["error"] == "forbidden"
    assert WorkOrder.objects.count() == 0


def test_a_manager_and_a_superuser_may_create(api, manager, service_type):
    boss = UserFactory(username="root", is_superuser=True, is_staff=True)

    assert api(manager).post(LIST, request_body(), format="json").status_code == 201
    assert api(boss).post(LIST, request_body(), format="json").status_code == 201
    roles = list(WorkOrderEvent.objects.order_by("id").values_list("actor_role", flat=True))
    assert roles == [R.MANAGER, "admin"]


# --------------------------------------------------------------------------
# List: filters and keyset pages
# --------------------------------------------------------------------------


def test_list_filters_by_status_priority_technician_and_created_range(api, dispatcher, technician):
    day = datetime(2026, 3, 10, 12, 0, tzinfo=SHANGHAI)
    new_low = WorkOrderFactory(status=Status.NEW, priority=1, created_at=day - timedelta(days=5))
    new_urgent = WorkOrderFactory(status=Status.NEW, priority=4, created_at=day)
    assigned = WorkOrderFactory(status=Status.ASSIGNED, technician=technician, priority=2, created_at=day)
    closed = WorkOrderFactory(status=Status.CLOSED, priority=4, created_at=day + timedelta(days=5))
    client = api(dispatcher)

    def listed(**params):
        response = client.get(LIST, params)
        assert response.status_code == 200, response.json()
        return set(ids(response))

    assert listed() == {new_low.pk, new_urgent.pk, assigned.pk, closed.pk}
    assert listed(status="new") == {new_low.pk, new_urgent.pk}
    assert listed(status=["new", "assigned"]) == {new_low.pk, new_urgent.pk, assigned.pk}
    assert listed(priority=4) == {new_urgent.pk, closed.pk}
    assert listed(status="new", priority=4) == {new_urgent.pk}
    assert listed(technician=technician.pk) == {assigned.pk}
    assert listed(unassigned="true") == {new_low.pk, new_urgent.pk, closed.pk}
    assert listed(customer=closed.customer_id) == {closed.pk}
    assert listed(phone=new_low.customer.phone) == {new_low.pk}
    assert listed(number=assigned.number) == {assigned.pk}
    assert listed(created_after=(day - timedelta(hours=1)).isoformat()) == {new_urgent.pk, assigned.pk, closed.pk}
    assert listed(
        created_after=(day - timedelta(hours=1)).isoformat(), created_before=(day + timedelta(hours=1)).isoformat()
    ) == {new_urgent.pk, assigned.pk}


@pytest.mark.parametrize(
    "params, field",
    [
        ({"status": "lost"}, "status"),
        ({"created_after": "last tuesday"}, "created_after"),
        ({"technician": 999999}, "technician"),
        ({"cursor": "garbage"}, "cursor"),
        ({"sort": "name"}, "sort"),
        ({"page_size": "many"}, "page_size"),
        ({"page_size": 0}, "page_size"),
    ],
)
def test_bad_list_parameters_are_refused_naming_them(api, dispatcher, params, field):
    WorkOrderFactory()

    response = api(dispatcher).get(LIST, params)

    assert response.status_code == 400
    assert response.json()["error"] == "invalid"
    assert field in response.json()["fields"]


def walk(client, url, params=None):
    """Follow ``next`` links from the first page; the pages' ids in order."""
    pages = []
    response = client.get(url, params)
    while True:
        assert response.status_code == 200, response.json()
        body = response.json()
        pages.append([row["id"] for row in body["results"]])
        if body["next"] is None:
            return pages
        assert len(pages) < 100, "the walk never ends"
        response = client.get(body["next"])


def test_cursor_pages_walk_forward_through_every_row_once(api, dispatcher):
    orders = [WorkOrderFactory(priority=(i % 4) + 1) for i in range(25)]
    client = api(dispatcher)

    pages = walk(client, LIST, {"page_size": 10})

    assert [len(p) for p in pages] == [10, 10, 5]
    seen = [pk for page in pages for pk in page]
    assert seen == sorted((wo.pk for wo in orders), reverse=True), "newest first, no duplicates, no gaps"

    by_priority = [pk for page in walk(client, LIST, {"page_size": 7, "sort": "priority"}) for pk in page]
    assert by_priority == [wo.pk for wo in sorted(orders, key=lambda wo: (wo.priority, wo.pk))]


def test_cursor_pages_keep_the_filters_and_walk_back(api, dispatcher):
    for i in range(12):
        WorkOrderFactory(status=Status.NEW if i % 2 else Status.CLOSED)
    client = api(dispatcher)

    first = client.get(LIST, {"status": "new", "page_size": 2}).json()
    assert first["previous"] is None
    second = client.get(first["next"]).json()
    assert "status=new" in first["next"]
    third = client.get(second["next"]).json()
    assert third["next"] is None
    seen = [row for page in (first, second, third) for row in page["results"]]
    assert len(seen) == 6 and {row["status"] for row in seen} == {"new"}

    back = client.get(second["previous"]).json()
    assert [row["id"] for row in back["results"]] == [row["id"] for row in first["results"]]


def test_the_page_size_is_capped_at_200(api, dispatcher, service_type):
    customer = CustomerFactory()
    WorkOrder.objects.bulk_create(
        WorkOrder(customer=customer, service_type=service_type, contact_name="A", contact_phone=customer.phone,
                  address="Somewhere", description="Broken")
        for _ in range(205)
    )

    body = api(dispatcher).get(LIST, {"page_size": 1000}).json()

    assert len(body["results"]) == 200
    assert body["next"] is not None


def _some_work_orders(n, technicians):
    for i in range(n):
        tech = technicians[i % len(technicians)] if i % 3 else None
        WorkOrderFactory(status=Status.ASSIGNED if tech else Status.NEW, technician=tech, priority=(i % 4) + 1)


@pytest.mark.parametrize("role", ["dispatcher", "technician"])
def test_a_list_page_costs_the_same_queries_for_10_and_100_rows(
    api, request, technician, other_technician, role, django_assert_num_queries
):
    _some_work_orders(330, [technician, other_technician])
    user = request.getfixturevalue(role)
    client = api(getattr(user, "user", user))
    client.get(LIST, {"page_size": 1})  # fills the per-process caches (roles: core/refcache.py)

    with CaptureQueriesContext(connection) as small:
        response = client.get(LIST, {"page_size": 10, "status": ["new", "assigned"]})
    assert len(response.json()["results"]) == 10

    with django_assert_num_queries(len(small)):
        response = client.get(LIST, {"page_size": 100, "status": ["new", "assigned"]})
    assert len(response.json()["results"]) == 100
    with django_assert_num_queries(len(small)):
        response = client.get(response.json()["next"])  # a deeper page
    assert response.json()["results"]

    assert len(small) <= 5, [q["sql"] for q in small]
    assert not any("COUNT(" in q["sql"].upper() for q in small), "no COUNT(*): keyset pages need none"


def test_available_actions_follow_the_callers_roles(api, dispatcher, technician):
    wo = WorkOrderFactory(status=Status.ASSIGNED, technician=technician)

    as_dispatcher = api(dispatcher).get(LIST).json()["results"][0]
    as_technician = api(technician.user).get(LIST).json()["results"][0]

    assert as_dispatcher["id"] == as_technician["id"] == wo.pk
    assert {a["action"] for a in as_dispatcher["available_actions"]} == {"reassign", "unassign", "cancel"}
    assert {a["action"] for a in as_technician["available_actions"]} == {"accept", "reject"}
    reject = next(a for a in as_technician["available_actions"] if a["action"] == "reject")
    assert reject["reason_required"] is True


# --------------------------------------------------------------------------
# Who sees what
# --------------------------------------------------------------------------


def test_a_technician_sees_only_their_own_work_orders(api, technician, other_technician):
    mine = WorkOrderFactory(status=Status.ASSIGNED, technician=technician)
    theirs = WorkOrderFactory(status=Status.ASSIGNED, technician=other_technician)
    unassigned = WorkOrderFactory()
    client = api(technician.user)

    assert ids(client.get(LIST)) == [mine.pk]
    assert client.get(detail_url(mine.pk)).status_code == 200
    for other in (theirs, unassigned):
        response = client.get(detail_url(other.pk))
        assert response.status_code == 404
        assert response.json()["error"] == "not_found"
        assert other.contact_name not in response.content.decode()


def test_a_partner_technician_sees_their_companys_work_orders(api, partner_technician, technician):
    colleague = PartnerTechnicianFactory(partner_company=partner_technician.partner_company)
    other_partner = PartnerTechnicianFactory()
    own = WorkOrderFactory(status=Status.ASSIGNED, technician=partner_technician)
    colleagues = WorkOrderFactory(status=Status.ASSIGNED, technician=colleague)
    other_company = WorkOrderFactory(status=Status.ASSIGNED, technician=other_partner)
    staff = WorkOrderFactory(status=Status.ASSIGNED, technician=technician)
    client = api(partner_technician.user)

    assert set(ids(client.get(LIST))) == {own.pk, colleagues.pk}
    assert client.get(detail_url(colleagues.pk)).status_code == 200
    assert client.get(detail_url(other_company.pk)).status_code == 404
    assert client.get(detail_url(staff.pk)).status_code == 404


@pytest.mark.parametrize("role", ["agent", "dispatcher", "manager"])
def test_office_roles_see_every_work_order(api, request, technician, partner_technician, role):
    orders = [
        WorkOrderFactory(),
        WorkOrderFactory(status=Status.ASSIGNED, technician=technician),
        WorkOrderFactory(status=Status.ACCEPTED, technician=partner_technician),
    ]
    client = api(request.getfixturevalue(role))

    assert set(ids(client.get(LIST))) == {wo.pk for wo in orders}
    for wo in orders:
        assert client.get(detail_url(wo.pk)).status_code == 200


def test_a_missing_work_order_is_404_json(api, agent):
    response = api(agent).get(detail_url(987654))

    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


def test_the_detail_shows_events_and_attachment_metadata(api, dispatcher, technician):
    from workorders.models import Attachment

    wo = WorkOrderFactory()
    Attachment.objects.create(
        work_order=wo, file="workorders/x.jpg", content_type="image/jpeg", size=1234, width=10, height=20,
        original_name="leak.jpg",
    )
    api(dispatcher).post(transition_url(wo.pk), {"action": "assign", "technician": technician.pk}, format="json")
    api(technician.user).post(
        transition_url(wo.pk), {"action": "accept", "latitude": 31.2304, "longitude": 121.4737}, format="json"
    )

    body = api(dispatcher).get(detail_url(wo.pk)).json()

    assert [(e["action"], e["from_status"], e["to_status"]) for e in body["events"]] == [
        ("create", "", "new"),
        ("assign", "new", "assigned"),
        ("accept", "assigned", "accepted"),
    ]
    accept = body["events"][2]
    assert (accept["actor"], accept["actor_role"]) == ("tech", R.TECHNICIAN)
    assert (accept["latitude"], accept["longitude"]) == (31.2304, 121.4737)
    assert accept["created_at"]
    assert body["attachments"] == [
        {
            "id": wo.attachments.get().pk,
            "kind": "customer_photo",
            "content_type": "image/jpeg",
            "size": 1234,
            "width": 10,
            "height": 20,
            "original_name": "leak.jpg",
            "created_at": body["attachments"][0]["created_at"],
        }
    ]
    assert body["technician"]["username"] == "tech"


# --------------------------------------------------------------------------
# Transitions
# --------------------------------------------------------------------------


def test_a_dispatcher_assigns_and_the_technician_accepts(api, dispatcher, technician):
    wo = WorkOrderFactory()

    response = api(dispatcher).post(
        transition_url(wo.pk),
        {
            "action": "assign",
            "technician": technician.pk,
            "appointment_start": "2026-05-02T09:00:00+08:00",
            "appointment_end": "2026-05-02T11:00:00+08:00",
            "note": "nearest engineer",
        },
        format="json",
    )

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "assigned"
    assert body["technician"]["id"] == technician.pk
    assert body["appointment_start"].startswith("2026-05-02T09:00:00")
    assert {a["action"] for a in body["available_actions"]} == {"reassign", "unassign", "cancel"}

    response = api(technician.user).post(transition_url(wo.pk), {"action": "accept"}, format="json")
    assert response.status_code == 200
    assert response.json()["status"] == "accepted"
    events = list(wo.events.order_by("id").values_list("action", "actor_role", "note"))
    assert events[1:] == [("assign", R.DISPATCHER, "nearest engineer"), ("accept", R.TECHNICIAN, "")]


def test_a_transition_not_allowed_from_the_current_state_is_409_json(api, manager):
    wo = WorkOrderFactory(status=Status.NEW)

    response = api(manager).post(transition_url(wo.pk), {"action": "close"}, format="json")

    assert response.status_code == 409
    body = response.json()
    assert body["error"] == "transition_not_allowed"
    assert wo.number in body["detail"]
    wo.refresh_from_db()
    assert wo.status == Status.NEW
    assert wo.events.count() == 1


def test_a_role_that_may_not_fire_the_transition_gets_403(api, technician, agent):
    wo = WorkOrderFactory(status=Status.ASSIGNED, technician=technician)

    as_technician = api(technician.user).post(
        transition_url(wo.pk), {"action": "assign", "technician": technician.pk}, format="json"
    )
    as_agent = api(agent).post(transition_url(wo.pk), {"action": "accept"}, format="json")

    assert (as_technician.status_code, as_agent.status_code) == (403, 403)
    assert as_technician.json()["error"] == as_agent.json()["error"] == "forbidden"
    wo.refresh_from_db()
    assert wo.status == Status.ASSIGNED
    assert wo.events.count() == 1


def test_a_transition_on_an_invisible_or_missing_work_order_is_404(api, technician, other_technician):
    theirs = WorkOrderFactory(status=Status.ASSIGNED, technician=other_technician)
    client = api(technician.user)

    invisible = client.post(transition_url(theirs.pk), {"action": "accept"}, format="json")
    missing = client.post(transition_url(987654), {"action": "accept"}, format="json")

    assert (invisible.status_code, missing.status_code) == (404, 404)
    assert invisible.json()["error"] == "not_found"
    theirs.refresh_from_db()
    assert theirs.status == Status.ASSIGNED


@pytest.mark.parametrize(
    "payload, field",
    [
        ({}, "action"),
        ({"action": "teleport"}, "action"),
        ({"action": "cancel"}, "note"),
        ({"action": "cancel", "note": "   "}, "note"),
        ({"action": "assign"}, "technician"),
        ({"action": "assign", "technician": "abc"}, "technician"),
        ({"action": "assign", "technician": 999999}, "technician"),
        ({"action": "cancel", "note": "dup", "latitude": 31.2}, "longitude"),
        ({"action": "cancel", "note": "dup", "latitude": 95, "longitude": 121}, "latitude"),
        ({"action": "assign", "technician": 1, "appointment_start": "2026-05-02T11:00:00+08:00",
          "appointment_end": "2026-05-02T09:00:00+08:00"}, "appointment_end"),
    ],
)
def test_bad_transition_input_is_400_naming_the_field(api, dispatcher, technician, payload, field):
    wo = WorkOrderFactory()
    if payload.get("technician") == 1:
        payload = {**payload, "technician": technician.pk}

    response = api(dispatcher).post(transition_url(wo.pk), payload, format="json")

    assert response.status_code == 400, response.json()
    assert response.json()["error"] == "invalid"
    assert field in response.json()["fields"]
    wo.refresh_from_db()
    assert wo.status == Status.NEW
    assert wo.events.count() == 1


def test_a_technician_who_rejects_gets_the_order_back_as_they_left_it(api, technician):
    wo = WorkOrderFactory(status=Status.ASSIGNED, technician=technician)
    client = api(technician.user)

    response = client.post(transition_url(wo.pk), {"action": "reject", "note": "too far"}, format="json")

    assert response.status_code == 200
    assert response.json()["status"] == "new"
    assert response.json()["technician"] is None
    assert client.get(detail_url(wo.pk)).status_code == 404, "no longer theirs"


# --------------------------------------------------------------------------
# Authentication
# --------------------------------------------------------------------------


def test_an_integration_gets_a_token_and_uses_it(db, dispatcher):
    WorkOrderFactory()
    client = APIClient()

    response = client.post("/api/v1/auth/token/", {"username": "dispatcher", "password": "pw"}, format="json")
    assert response.status_code == 200
    token = response.json()["token"]

    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get(LIST).status_code == 200


def test_a_wrong_password_gets_no_token(db, dispatcher):
    response = APIClient().post("/api/v1/auth/token/", {"username": "dispatcher", "password": "nope"}, format="json")

    assert response.status_code == 400
    assert response.json()["error"] == "invalid"
    assert "token" not in response.json()


def test_a_logged_in_browser_session_works_too(db, agent):
    WorkOrderFactory()
    client = APIClient()
    client.force_login(agent)

    assert client.get(LIST).status_code == 200


@pytest.mark.parametrize(
    "method, url",
    [("get", LIST), ("post", LIST), ("get", detail_url(1)), ("post", transition_url(1))],
)
def test_anonymous_callers_are_refused(db, method, url):
    WorkOrderFactory(pk=1)

    response = getattr(APIClient(), method)(url, {}, format="json")

    assert response.status_code == 401
    assert response.json()["error"] == "not_authenticated"
    assert response["WWW-Authenticate"].startswith("Token")
    assert "The air conditioner" not in response.content.decode()


def test_a_bad_token_is_refused(db):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")

    response = client.get(LIST)

    assert response.status_code == 401
    assert response.json()["error"] == "authentication_failed"


def test_a_user_without_a_role_sees_nothing(api):
    WorkOrderFactory()
    nobody = UserFactory(username="nobody")

    assert ids(api(nobody).get(LIST)) == []


def test_service_type_filter_uses_the_id(api, agent):
    heating = ServiceTypeFactory(code="heating")
    wo = WorkOrderFactory(service_type=heating)
    WorkOrderFactory()

    assert ids(api(agent).get(LIST, {"service_type": heating.pk})) == [wo.pk]



def test_the_same_filters_with_other_values_and_other_callers_get_their_own_rows(
    api, dispatcher, technician, other_technician
):
    """The list's SQL is kept per process for each set of filters: a new value of a filter,
    or another caller, still gets exactly the rows it asks for, on every page."""
    new = [WorkOrderFactory(status=Status.NEW, priority=2) for _ in range(3)]
    mine = [WorkOrderFactory(status=Status.ASSIGNED, technician=technician, priority=p) for p in (1, 3, 3)]
    theirs = WorkOrderFactory(status=Status.ASSIGNED, technician=other_technician, priority=3)
    office = api(dispatcher)

    def walked(client, params):
        return [pk for page in walk(client, LIST, {**params, "page_size": 2}) for pk in page]

    for _round in range(2):
        assert walked(office, {"status": "new"}) == sorted((wo.pk for wo in new), reverse=True)
        assert walked(office, {"status": "assigned"}) == sorted((wo.pk for wo in [*mine, theirs]), reverse=True)
        assert walked(office, {"technician": other_technician.pk}) == [theirs.pk]
        assert walked(office, {"technician": technician.pk, "sort": "priority"}) == [
            wo.pk for wo in sorted(mine, key=lambda wo: (wo.priority, wo.pk))
        ]
        assert walked(api(technician.user), {"status": "assigned"}) == sorted((wo.pk for wo in mine), reverse=True)
        assert walked(api(other_technician.user), {"status": "assigned"}) == [theirs.pk]
        assert walked(office, {"number": "not a number"}) == []
        assert walked(office, {"number": new[0].number}) == [new[0].pk]
