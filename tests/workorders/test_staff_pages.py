"""The staff work-order queue and detail pages, and the transition buttons on them."""

import html
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from core import roles as R
from tests.factories import (
    CustomerFactory,
    EquipmentFactory,
    TechnicianFactory,
    UserFactory,
    WorkOrderFactory,
)
from workorders.lifecycle import Status
from workorders.models import Attachment, WorkOrder, WorkOrderEvent

pytestmark = pytest.mark.django_db

LIST_URL = "/staff/work-orders/"


def _detail_url(wo):
    return f"/staff/work-orders/{wo.pk}/"


def _transition_url(wo):
    return f"/staff/work-orders/{wo.pk}/transition/"


def _listed_ids(response) -> list[int]:
    """The work orders the list page shows, in the order shown."""
    return [int(pk) for pk in re.findall(r'<td><a href="/staff/work-orders/(\d+)/">', response.content.decode())]


def _link(response, rel: str) -> str | None:
    found = re.search(rf'<a href="(\?[^"]*)" rel="{rel}">', response.content.decode())
    return html.unescape(found.group(1)) if found else None


def _messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


def _bulk_orders(n, *, service_type, customers, technicians=()):
    """``n`` work orders in one insert, spread over customers, technicians and priorities."""
    orders = []
    # Appointments never overlap (PostgreSQL refuses double booking).
    base = timezone.now() + timedelta(days=1 + WorkOrder.objects.count())
    for i in range(n):
        customer = customers[i % len(customers)]
        technician = technicians[i % len(technicians)] if technicians else None
        orders.append(
            WorkOrder(
                customer=customer,
                service_type=service_type,
                contact_name=customer.name,
                contact_phone=customer.phone,
                address=f"{i} Nanjing Road",
                description="Leaking",
                priority=1 + i % 4,
                status=Status.ASSIGNED if technician else Status.NEW,
                technician=technician,
                appointment_start=base + timedelta(hours=3 * i) if technician else None,
                appointment_end=base + timedelta(hours=3 * i + 2) if technician else None,
            )
        )
    WorkOrder.objects.bulk_create(orders)


# --- Access -----------------------------------------------------------------


@pytest.mark.parametrize("path", [LIST_URL, "/staff/work-orders/1/"])
def test_anonymous_visitor_is_sent_to_the_login_page(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_anonymous_post_of_a_transition_changes_nothing(client):
    wo = WorkOrderFactory()
    response = client.post(_transition_url(wo), {"action": "cancel", "note": "spam"})
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    wo.refresh_from_db()
    assert wo.status == Status.NEW


def test_user_without_a_role_is_told_so(client):
    client.force_login(UserFactory(username="nobody"))
    assert client.get(LIST_URL).status_code == 403


# --- The queue --------------------------------------------------------------


def test_list_issues_the_same_number_of_queries_for_10_and_1000_work_orders(
    client, dispatcher, service_type, django_assert_max_num_queries
):
    customers = CustomerFactory.create_batch(5)
    technicians = TechnicianFactory.create_batch(3)
    client.force_login(dispatcher)

    def queries_for(query: str) -> int:
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(LIST_URL + query)
        assert response.status_code == 200
        return len(ctx.captured_queries)

    _bulk_orders(10, service_type=service_type, customers=customers, technicians=technicians)
    client.get(LIST_URL)  # fills the per-process caches (roles, service types, technicians: core/refcache.py)
    small = {q: queries_for(q) for q in ("", "?status=assigned", "?sort=-priority")}

    _bulk_orders(990, service_type=service_type, customers=customers, technicians=technicians)
    with django_assert_max_num_queries(small[""]):
        response = client.get(LIST_URL)
    assert len(_listed_ids(response)) == 50
    large = {q: queries_for(q) for q in small}
    assert large == small
    # A deep page costs the same as the first.
    deep = client.get(LIST_URL + "?status=assigned")
    for _ in range(5):
        deep = client.get(LIST_URL + _link(deep, "next"))
    with django_assert_max_num_queries(small["?status=assigned"]) as ctx:
        client.get(LIST_URL + _link(deep, "next"))
    # And no query that must read every matching row: no DISTINCT (it defeats the
    # index scan that keyset pagination relies on), no uncapped COUNT.
    for query in ctx.captured_queries:
        sql = query["sql"].upper()
        assert "SELECT DISTINCT" not in sql, sql[:300]
        assert "COUNT(" not in sql or "LIMIT" in sql, sql[:300]


def test_list_shows_a_capped_count_never_a_full_count(client, dispatcher, service_type):
    customers = CustomerFactory.create_batch(2)
    _bulk_orders(1000, service_type=service_type, customers=customers)
    client.force_login(dispatcher)
    assert "1,000 matching" in client.get(LIST_URL).content.decode()

    _bulk_orders(1, service_type=service_type, customers=customers)
    with CaptureQueriesContext(connection) as ctx:
        page = client.get(LIST_URL).content.decode()
    assert "1,000+ matching" in page
    assert not any(
        "COUNT(" in q["sql"].upper() and "LIMIT" not in q["sql"].upper() for q in ctx.captured_queries
    ), "an uncapped COUNT(*) ran"


def test_a_kept_1000_plus_count_lasts_seconds_and_small_counts_are_always_exact(
    client, dispatcher, service_type, monkeypatch
):
    from core import refcache
    from workorders.views import staff as views_staff

    clock = [1000.0]
    monkeypatch.setattr(refcache.time, "monotonic", lambda: clock[0])
    customers = CustomerFactory.create_batch(2)
    _bulk_orders(1001, service_type=service_type, customers=customers)
    client.force_login(dispatcher)
    assert "1,000+ matching" in client.get(LIST_URL, {"status": "new"}).content.decode()

    # Most of them are taken: the queue may go on saying "1,000+" for a few seconds ...
    WorkOrder.objects.filter(pk__in=list(WorkOrder.objects.values_list("pk", flat=True)[:990])).update(
        status=Status.CANCELLED
    )
    with CaptureQueriesContext(connection) as ctx:
        assert "1,000+ matching" in client.get(LIST_URL, {"status": "new"}).content.decode()
    assert not any("COUNT(" in q["sql"].upper() for q in ctx.captured_queries)
    # ... but never longer than SATURATED_COUNT_SECONDS, and other filters count afresh.
    assert "990 matching" in client.get(LIST_URL, {"status": "cancelled"}).content.decode()
    clock[0] += views_staff.SATURATED_COUNT_SECONDS + 1
    assert "11 matching" in client.get(LIST_URL, {"status": "new"}).content.decode()

    # Under the cap nothing is kept: the next order shows at once.
    _bulk_orders(1, service_type=service_type, customers=customers)
    assert "12 matching" in client.get(LIST_URL, {"status": "new"}).content.decode()


def test_a_kept_count_is_not_shown_to_someone_who_sees_other_orders(client, dispatcher, service_type):
    tech = TechnicianFactory()
    customers = CustomerFactory.create_batch(2)
    _bulk_orders(1001, service_type=service_type, customers=customers)
    _bulk_orders(2, service_type=service_type, customers=customers, technicians=[tech])
    client.force_login(dispatcher)
    assert "1,000+ matching" in client.get(LIST_URL).content.decode()
    client.force_login(tech.user)
    assert "2 matching" in client.get(LIST_URL).content.decode()


def test_list_rows_show_what_staff_need(client, agent):
    tech = TechnicianFactory(user__first_name="Wei", user__last_name="Li")
    wo = WorkOrderFactory(
        status=Status.ASSIGNED, technician=tech, priority=WorkOrder.Priority.URGENT,
        customer__name="Zhang San", address="88 Century Avenue",
    )
    client.force_login(agent)
    with timezone.override("Asia/Shanghai"):
        page = client.get(LIST_URL, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    for text in (wo.number, "Assigned", "Urgent", wo.service_type.name, "Zhang San", "88 Century Avenue", "Wei"):
        assert text in page


def test_what_people_typed_shows_as_text_in_the_queue_and_the_search(client, agent):
    # The rows are a Jinja2 partial (workorders/staff/_rows.jinja): it escapes like the other templates.
    tech = TechnicianFactory(user__first_name="<i>Wei</i>", user__last_name="")
    WorkOrderFactory(
        status=Status.ASSIGNED, technician=tech,
        customer__name="Zhang <b>San</b> & Sons", address='88 "Century" <Avenue>',
    )
    client.force_login(agent)
    for url in (LIST_URL, "/staff/work-orders/search/?q=Zhang"):
        page = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
        assert "Zhang &lt;b&gt;San&lt;/b&gt; &amp; Sons" in page
        assert "88 &#34;Century&#34; &lt;Avenue&gt;" in page or "88 &quot;Century&quot; &lt;Avenue&gt;" in page
        assert "&lt;i&gt;Wei&lt;/i&gt;" in page
        assert "<b>San</b>" not in page and "<i>Wei</i>" not in page


def test_walking_the_pages_shows_every_filtered_order_once_in_sort_order(client, dispatcher, settings):
    settings.STAFF_PAGE_SIZE = 3
    tech = TechnicianFactory()
    assigned = [WorkOrderFactory(status=Status.ASSIGNED, technician=tech, priority=1 + i % 4) for i in range(8)]
    WorkOrderFactory.create_batch(4, status=Status.NEW)
    client.force_login(dispatcher)

    # Most urgent first, filtered by status, three to a page.
    response = client.get(LIST_URL, {"status": "assigned", "sort": "-priority"})
    seen, pages = [], []
    while True:
        ids = _listed_ids(response)
        pages.append(ids)
        seen += ids
        following = _link(response, "next")
        if following is None:
            break
        assert "status=assigned" in following and "sort=-priority" in following
        response = client.get(LIST_URL + following)
    expected = [wo.pk for wo in sorted(assigned, key=lambda w: (w.priority, w.pk), reverse=True)]
    assert seen == expected
    assert [len(p) for p in pages] == [3, 3, 2]

    # And back again from the last page.
    previous = _link(response, "prev")
    assert "status=assigned" in previous
    assert _listed_ids(client.get(LIST_URL + previous)) == pages[1]


@pytest.mark.parametrize(
    "sort, key",
    [
        ("-id", lambda w: -w.pk),
        ("id", lambda w: w.pk),
        ("-priority", lambda w: (-w.priority, -w.pk)),
        ("priority", lambda w: (w.priority, w.pk)),
    ],
)
def test_each_sort_orders_the_queue(client, agent, sort, key):
    orders = [WorkOrderFactory(priority=p) for p in (2, 4, 1, 3, 4)]
    client.force_login(agent)
    assert _listed_ids(client.get(LIST_URL, {"sort": sort})) == [w.pk for w in sorted(orders, key=key)]


def test_filters_narrow_the_queue(client, agent, service_type):
    tech = TechnicianFactory()
    mine = WorkOrderFactory(status=Status.ASSIGNED, technician=tech, service_type=service_type,
                            priority=WorkOrder.Priority.HIGH)
    other = WorkOrderFactory(status=Status.NEW)
    old = WorkOrderFactory(created_at=timezone.now() - timedelta(days=40))
    client.force_login(agent)

    assert _listed_ids(client.get(LIST_URL, {"status": ["assigned", "in_progress"]})) == [mine.pk]
    assert _listed_ids(client.get(LIST_URL, {"technician": tech.pk})) == [mine.pk]
    assert _listed_ids(client.get(LIST_URL, {"service_type": service_type.pk})) == [mine.pk]
    assert _listed_ids(client.get(LIST_URL, {"priority": "3"})) == [mine.pk]
    assert _listed_ids(client.get(LIST_URL, {"phone": other.customer.phone})) == [other.pk]
    since = (timezone.localdate() - timedelta(days=7)).isoformat()
    assert old.pk not in _listed_ids(client.get(LIST_URL, {"created_after": since}))
    assert _listed_ids(client.get(LIST_URL, {"created_before": since})) == [old.pk]


def test_number_search_finds_one_work_order(client, agent):
    wanted, _other = WorkOrderFactory(), WorkOrderFactory()
    client.force_login(agent)
    response = client.get(LIST_URL, {"number": wanted.number})
    assert _listed_ids(response) == [wanted.pk]
    assert _listed_ids(client.get(LIST_URL, {"number": "WO-nonsense"})) == []


@pytest.mark.parametrize(
    "params, field",
    [
        ({"created_after": "not-a-date"}, "created_after"),
        ({"due_before": "2026-13-45"}, "due_before"),
        ({"status": "teleported"}, "status"),
        ({"priority": "9"}, "priority"),
        ({"technician": "999999"}, "technician"),
        ({"customer": "abc"}, "customer"),
    ],
)
def test_bad_filter_values_render_the_page_with_the_error(client, agent, params, field):
    WorkOrderFactory()
    client.force_login(agent)
    response = client.get(LIST_URL, params)
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert 'class="errorlist' in response.content.decode()
    assert _listed_ids(response) == []


@pytest.mark.parametrize("params", [{"cursor": "!!garbage"}, {"cursor": "WzEsMl0"}, {"sort": "-customer"}])
def test_bad_cursor_or_sort_shows_a_message_and_the_first_page(client, agent, params):
    wo = WorkOrderFactory()
    client.force_login(agent)
    response = client.get(LIST_URL, params)
    assert response.status_code == 200
    assert response.context["errors"]
    assert _listed_ids(response) == [wo.pk]


# --- The detail page --------------------------------------------------------


def test_detail_shows_the_order_its_equipment_photos_and_history(client, dispatcher):
    equipment = EquipmentFactory(serial="SN-42-XYZ", warranty_end=timezone.localdate() + timedelta(days=30))
    tech = TechnicianFactory(user__first_name="Wei", user__last_name="Li")
    wo = WorkOrderFactory(
        customer=equipment.customer, site=equipment.site, equipment=equipment, contact_phone="+8613812345678",
        description="Drips water onto the sofa", status=Status.ASSIGNED, technician=tech,
    )
    photo = Attachment.objects.create(work_order=wo, file="x.jpg", content_type="image/jpeg", size=10)
    WorkOrderEvent.objects.create(
        work_order=wo, action="assign", from_status=Status.NEW, to_status=Status.ASSIGNED, actor=dispatcher,
        actor_role=R.DISPATCHER, note="Nearest technician", latitude=Decimal("31.2304"), longitude=Decimal("121.4737"),
    )
    client.force_login(dispatcher)
    page = client.get(_detail_url(wo), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    for text in (wo.number, "SN-42-XYZ", "under warranty", "Drips water onto the sofa", "+8613812345678", "Wei",
                 "New → Assigned", "Dispatcher", "Nearest technician", "31.230400", f'href="/attachments/{photo.pk}/"'):
        assert text in page, text


def test_detail_with_50_events_takes_as_many_queries_as_with_one(client, dispatcher):
    few, many = WorkOrderFactory(), WorkOrderFactory()
    actors = UserFactory.create_batch(5, roles=[R.DISPATCHER])
    WorkOrderEvent.objects.bulk_create(
        WorkOrderEvent(work_order=many, action="hold" if i % 2 else "resume", from_status=Status.IN_PROGRESS,
                       to_status=Status.ON_HOLD, actor=actors[i % 5], actor_role=R.DISPATCHER, note=f"step {i}")
        for i in range(49)
    )
    for wo in (few, many):
        Attachment.objects.create(work_order=wo, file="x.jpg", content_type="image/jpeg", size=10)
    client.force_login(dispatcher)
    client.get(_detail_url(few))  # fills the per-process caches (roles: core/refcache.py)
    counts = []
    for wo in (few, many):
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(_detail_url(wo))
        counts.append(len(ctx.captured_queries))
    assert len(response.context["events"]) == 50
    assert "step 48" in response.content.decode()
    assert counts[0] == counts[1]


def test_detail_of_a_missing_work_order_is_404(client, agent):
    client.force_login(agent)
    assert client.get("/staff/work-orders/987654/").status_code == 404


def test_detail_offers_only_the_transitions_the_role_may_fire_now(client, dispatcher, agent):
    wo = WorkOrderFactory(status=Status.NEW)
    client.force_login(dispatcher)
    offered = {t.action for t in client.get(_detail_url(wo)).context["actions"]}
    assert offered == {"assign", "cancel"}
    client.force_login(agent)
    assert {t.action for t in client.get(_detail_url(wo)).context["actions"]} == {"cancel"}


# --- Transitions through the page -------------------------------------------


def test_dispatcher_assigns_through_the_page_and_an_event_is_written(client, dispatcher):
    tech = TechnicianFactory(user__first_name="Wei", user__last_name="Li")
    wo = WorkOrderFactory()
    client.force_login(dispatcher)
    response = client.post(
        _transition_url(wo),
        {"action": "assign", "technician": tech.pk, "appointment_start": "2026-05-01T09:00",
         "appointment_end": "2026-05-01T11:00", "note": "Closest"},
        follow=True, HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.redirect_chain[-1][0] == _detail_url(wo)
    wo.refresh_from_db()
    assert (wo.status, wo.technician_id) == (Status.ASSIGNED, tech.pk)
    assert timezone.localtime(wo.appointment_start).hour == 9
    event = wo.events.order_by("-id").first()
    assert (event.action, event.actor, event.actor_role, event.note) == ("assign", dispatcher, R.DISPATCHER, "Closest")
    assert any("Assigned" in m for m in _messages(response))
    assert "Closest" in response.content.decode()


def test_second_dispatcher_is_told_who_has_it_and_nothing_changes(client, dispatcher):
    tech_a = TechnicianFactory(user__first_name="Wei", user__last_name="Li")
    tech_b = TechnicianFactory()
    second = UserFactory(username="dispatcher2", roles=[R.DISPATCHER])
    wo = WorkOrderFactory()
    client.force_login(dispatcher)
    client.post(_transition_url(wo), {"action": "assign", "technician": tech_a.pk})

    # The second dispatcher's page still showed "new" and an Assign button.
    client.force_login(second)
    response = client.post(_transition_url(wo), {"action": "assign", "technician": tech_b.pk}, follow=True,
                           HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert f"{wo.number} is already assigned to Wei Li." in _messages(response)
    wo.refresh_from_db()
    assert wo.technician_id == tech_a.pk
    assert wo.events.filter(action="assign").count() == 1


def test_forbidden_transition_shows_the_reason_and_changes_nothing(client, agent):
    tech = TechnicianFactory()
    wo = WorkOrderFactory()
    client.force_login(agent)
    response = client.post(_transition_url(wo), {"action": "assign", "technician": tech.pk}, follow=True,
                           HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert _messages(response) == ["Your role may not assign a work order."]
    wo.refresh_from_db()
    assert (wo.status, wo.technician_id, wo.events.count()) == (Status.NEW, None, 1)


@pytest.mark.parametrize(
    "post, message",
    [
        ({"action": "cancel"}, "A reason is required."),
        ({"action": "cancel", "note": "   "}, "A reason is required."),
        ({"action": "assign"}, "Choose a technician."),
        ({"action": "assign", "technician": "abc"}, "Technician"),
        ({"action": "assign", "technician": "1", "appointment_start": "tomorrow-ish"}, "Appointment from"),
        ({"action": "teleport"}, "Action"),
        ({"action": "resume"}, "Cannot resume"),
        ({"action": "cancel", "note": "x", "latitude": "95", "longitude": "10"}, "position"),
    ],
)
def test_bad_transition_input_shows_a_message_and_changes_nothing(client, dispatcher, post, message):
    wo = WorkOrderFactory()
    client.force_login(dispatcher)
    response = client.post(_transition_url(wo), post, follow=True, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert any(message in m for m in _messages(response)), _messages(response)
    wo.refresh_from_db()
    assert (wo.status, wo.events.count()) == (Status.NEW, 1)


def test_technician_accepts_with_position_from_the_phone(client, technician):
    wo = WorkOrderFactory(status=Status.ASSIGNED, technician=technician)
    client.force_login(technician.user)
    page = client.get(_detail_url(wo)).content.decode()
    assert "data-geo" in page and "js/staff.js" in page
    client.post(_transition_url(wo), {"action": "accept", "latitude": "31.2304167", "longitude": "121.4737"})
    event = wo.events.order_by("-id").first()
    assert (event.action, event.latitude, event.longitude) == ("accept", Decimal("31.230417"), Decimal("121.473700"))
    technician.refresh_from_db()
    assert technician.last_latitude == Decimal("31.230417")


def test_technician_who_rejects_goes_back_to_the_list(client, technician):
    wo = WorkOrderFactory(status=Status.ASSIGNED, technician=technician)
    client.force_login(technician.user)
    response = client.post(_transition_url(wo), {"action": "reject", "note": "Wrong skill"})
    assert response.status_code == 302 and response["Location"] == LIST_URL
    wo.refresh_from_db()
    assert (wo.status, wo.technician_id) == (Status.NEW, None)


def test_transition_page_accepts_only_post(client, dispatcher):
    wo = WorkOrderFactory()
    client.force_login(dispatcher)
    assert client.get(_transition_url(wo)).status_code == 405
