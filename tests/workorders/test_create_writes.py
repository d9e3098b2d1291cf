"""What one creation writes, and what it costs the database (PostgreSQL).

Every creation writes the customer (found by phone or new), the site, the order
with its SLA deadlines, its "create" event and the order's row of report figures,
and nothing twice: a replayed submission finds the first order and writes nothing
else. A request from a new number is one statement that commits by itself; the
report row is already there when it answers, with no second transaction after it.
"""

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from core import roles as R
from customers.models import Customer, Site
from reports.facts import facts_refresh
from reports.models import WorkOrderFact
from tests.concurrency import race
from tests.factories import CustomerFactory, ServiceTypeFactory, SiteFactory, SlaPolicyFactory, UserFactory
from workorders.models import WorkOrder, WorkOrderEvent
from workorders.services import workorder_create


FACT_FIELDS = [f.attname for f in WorkOrderFact._meta.fields if f.attname != "refreshed_at"]


def create(service_type, *, phone="+8613812345678", address="88 Century Avenue, Shanghai", **kw):
    return workorder_create(
        channel=WorkOrder.Channel.WEB, contact_name="Wang Fang", contact_phone=phone, address=address,
        service_type=service_type, description="The air conditioner drips water.", **kw,
    )


def fact(pk) -> dict:
    return WorkOrderFact.objects.filter(pk=pk).values(*FACT_FIELDS).get()


def counts() -> tuple:
    return (Customer.objects.count(), Site.objects.count(), WorkOrder.objects.count(),
            WorkOrderEvent.objects.count(), WorkOrderFact.objects.count())


@pytest.mark.django_db
@pytest.mark.parametrize("priority", [2, 4], ids=["default policy, office hours", "urgent policy, 7x24"])
def test_a_new_orders_report_row_is_written_with_it_and_equals_what_a_refresh_builds(
    service_type, priority, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        wo, created = create(service_type, priority=priority)

    assert created and callbacks == [], "nothing is left to do after the commit"
    written = fact(wo.pk)
    event = WorkOrderEvent.objects.get(work_order=wo)
    assert (written["status"], written["source_event_id"]) == ("new", event.pk)
    assert written["first_response_due"] == wo.first_response_due is not None
    facts_refresh(work_order_ids=[wo.pk])
    assert fact(wo.pk) == written


@pytest.mark.django_db
def test_a_repeat_caller_keeps_their_record_site_and_tier_and_gets_an_email_filled_in(service_type):
    gold = SlaPolicyFactory(customer_tier="gold", first_response_minutes=15)
    customer = CustomerFactory(phone="+8613812345678", tier="gold", email="")
    site = SiteFactory(customer=customer, address="88 Century Avenue, Shanghai")

    wo, _ = create(service_type, address="  88 century avenue,   SHANGHAI ", contact_email="wang@example.com")

    assert (wo.customer_id, wo.site_id, wo.sla_policy_id) == (customer.pk, site.pk, gold.pk)
    assert Customer.objects.get().email == "wang@example.com"
    assert fact(wo.pk)["first_response_due"] == wo.first_response_due
    # Another address of theirs becomes a second site; the email on file stays as it is.
    other, _ = create(service_type, address="1 Nanjing Road", contact_email="other@example.com")
    assert other.customer_id == customer.pk and other.site.address == "1 Nanjing Road"
    assert (Customer.objects.get().email, Site.objects.count()) == ("wang@example.com", 2)


@pytest.mark.django_db
def test_a_replay_from_another_number_answers_the_first_order_and_writes_nothing(service_type):
    key = uuid.uuid4()
    first, created = create(service_type, submission_key=key)
    before = counts()

    again, created_again = create(service_type, phone="+8613900009999", address="elsewhere", submission_key=key)

    assert (created, created_again, again.pk) == (True, False, first.pk)
    assert counts() == before == (1, 1, 1, 1, 1)


# --- Outside a transaction block: what a web request does --------------------------------


def _api(user):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def _body(phone):
    return {"contact_name": "王芳", "contact_phone": phone, "address": "上海市浦东新区世纪大道100号",
            "service_type": "ac-repair", "description": "空调漏水。", "priority": 2}


@pytest.mark.django_db(transaction=True)
def test_an_api_create_from_a_new_number_is_one_statement_and_a_repeat_caller_three():
    ServiceTypeFactory(code="ac-repair")
    api = _api(UserFactory(roles=[R.AGENT]))
    # The token and the user are read once; each shape of statement is prepared once per connection.
    api.post("/api/v1/work-orders/", _body("13800000000"), format="json")
    api.post("/api/v1/work-orders/", _body("13800000000"), format="json")

    with CaptureQueriesContext(connection) as new_number:
        fresh = api.post("/api/v1/work-orders/", _body("13811112222"), format="json",
                         HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()))
    with CaptureQueriesContext(connection) as repeat:
        again = api.post("/api/v1/work-orders/", _body("13811112222"), format="json",
                         HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()))

    assert (fresh.status_code, again.status_code) == (201, 201)
    assert [q["sql"].split()[0] for q in new_number] == ["EXECUTE"], "no BEGIN, no COMMIT, no SELECT"
    # The insert that finds the number taken, the customer with their site, then the rest.
    assert [q["sql"].split()[0] for q in repeat] == ["EXECUTE", "SELECT", "EXECUTE"]
    assert fresh.json()["customer"]["id"] == again.json()["customer"]["id"]
    assert counts() == (2, 2, 4, 4, 4)


@pytest.mark.django_db(transaction=True)
def test_a_replayed_key_outside_a_transaction_answers_the_first_order_and_writes_nothing():
    ServiceTypeFactory(code="ac-repair")
    api = _api(UserFactory(roles=[R.AGENT]))
    key = str(uuid.uuid4())

    first = api.post("/api/v1/work-orders/", _body("13811112222"), format="json", HTTP_IDEMPOTENCY_KEY=key)
    # The same body, its keys in another order: the same request.
    replay = api.post("/api/v1/work-orders/", dict(reversed(_body("13811112222").items())), format="json",
                      HTTP_IDEMPOTENCY_KEY=key)

    assert (first.status_code, replay.status_code) == (201, 200)
    assert replay.json()["id"] == first.json()["id"]
    assert counts() == (1, 1, 1, 1, 1)


@pytest.mark.django_db(transaction=True)
def test_a_replayed_key_with_another_body_is_refused_with_422_and_writes_nothing():
    ServiceTypeFactory(code="ac-repair")
    api = _api(UserFactory(roles=[R.AGENT]))
    key = str(uuid.uuid4())
    first = api.post("/api/v1/work-orders/", _body("13811112222"), format="json", HTTP_IDEMPOTENCY_KEY=key)

    other = api.post("/api/v1/work-orders/", _body("13933334444"), format="json", HTTP_IDEMPOTENCY_KEY=key)

    assert first.status_code == 201
    assert other.status_code == 422
    assert other.json()["error"] == "idempotency_key_reused"
    assert "Idempotency-Key" in other.json()["fields"]
    assert counts() == (1, 1, 1, 1, 1)
    # The first body with its key is still answered with the first order.
    again = api.post("/api/v1/work-orders/", _body("13811112222"), format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert (again.status_code, again.json()["id"]) == (200, first.json()["id"])


@pytest.mark.django_db(transaction=True)
def test_twenty_creates_racing_with_one_key_make_one_order():
    ServiceTypeFactory(code="ac-repair")
    token = Token.objects.create(user=UserFactory(roles=[R.AGENT])).key
    key = str(uuid.uuid4())

    def post(phone):
        def call():
            client = APIClient()
            client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
            response = client.post("/api/v1/work-orders/", _body(phone), format="json", HTTP_IDEMPOTENCY_KEY=key)
            return phone, response.status_code, response.json()
        return call

    # Twenty at once: fifteen with one body, five with another.
    results = race([post("13811112222")] * 15 + [post("13933334444")] * 5)

    assert WorkOrder.objects.count() == WorkOrderEvent.objects.count() == 1
    order = WorkOrder.objects.get()
    winner = order.contact_phone.removeprefix("+86")
    assert sorted(status for _phone, status, _body in results) == sorted(
        [201] + [200] * (14 if winner == "13811112222" else 4) + [422] * (5 if winner == "13811112222" else 15)
    )
    for phone, status, body in results:
        if phone == winner:
            assert status in (200, 201) and body["id"] == order.pk
        else:
            assert status == 422 and body["error"] == "idempotency_key_reused"


@pytest.mark.django_db(transaction=True)
def test_two_first_requests_from_one_number_at_once_make_one_customer_and_two_orders():
    service_type = ServiceTypeFactory()

    results = race([lambda: create(service_type)[0].customer_id, lambda: create(service_type)[0].customer_id])

    assert results[0] == results[1] == Customer.objects.get().pk
    assert WorkOrder.objects.count() == WorkOrderEvent.objects.count() == WorkOrderFact.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_a_create_still_works_after_the_connections_prepared_statements_were_dropped():
    service_type = ServiceTypeFactory()
    create(service_type, phone="+8613811112222")
    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")  # as a connection pooler resetting the session would

    wo, created = create(service_type, phone="+8613933334444")

    assert created and WorkOrderFact.objects.filter(pk=wo.pk).exists()


@pytest.mark.django_db
def test_the_apis_field_errors_follow_each_requests_language(service_type):
    # The create serializer's fields are copied from ones built once per process: their
    # messages must still be translated per request, not frozen in the first one's language.
    api = _api(UserFactory(roles=[R.AGENT]))
    bad = {**_body("13811112222"), "priority": 9, "contact_name": "x" * 121}

    english = api.post("/api/v1/work-orders/", bad, format="json", HTTP_ACCEPT_LANGUAGE="en").json()
    chinese = api.post("/api/v1/work-orders/", bad, format="json", HTTP_ACCEPT_LANGUAGE="zh-hans").json()
    again = api.post("/api/v1/work-orders/", bad, format="json", HTTP_ACCEPT_LANGUAGE="en").json()

    assert english["fields"]["priority"] == ['"9" is not a valid choice.'] == again["fields"]["priority"]
    assert english["fields"]["contact_name"] == ["Ensure this field has no more than 120 characters."]
    assert chinese["fields"]["priority"] != english["fields"]["priority"]
    assert chinese["fields"]["contact_name"] != english["fields"]["contact_name"]
    assert WorkOrder.objects.count() == 0
