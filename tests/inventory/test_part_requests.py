"""Part requests: a technician asks, a manager or storekeeper approves and ships, the technician
confirms receipt; the levels at both ends and the ledger follow; who may see and do what."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from core.errors import Conflict, Forbidden, InvalidInput, NotFound
from inventory.models import PartRequest, StockMove
from inventory.requests import (
    part_request_approve,
    part_request_cancel,
    part_request_create,
    part_request_receive,
    part_request_reject,
    part_request_ship,
)
from tests.factories import TechnicianFactory, UserFactory, WorkOrderFactory

from .helpers import assert_ledger_balances, level, part, put, van, warehouse

pytestmark = pytest.mark.django_db


@pytest.fixture
def setup(technician):
    wh, pump = warehouse(name="Central"), part(part_number="PUMP-1", name="Drain pump")
    put(wh, pump, 5)
    own = van(technician)
    job = WorkOrderFactory(technician=technician, status="assigned")
    return wh, own, pump, job


def _ask(technician, pump, job=None, quantity=2):
    return part_request_create(actor=technician.user, lines=[(pump.pk, quantity)],
                               work_order_id=job.pk if job else None, note="for the drain")


def test_request_approve_ship_receive_moves_the_parts_and_the_ledger_balances(technician, manager, setup):
    wh, own, pump, job = setup
    request = _ask(technician, pump, job)
    assert (request.status, request.purpose, request.work_order_id, request.destination_id) == (
        "requested", "job", job.pk, own.pk)
    assert level(wh, pump) == (5, 0) and level(own, pump) == (0, 0)  # asking moves nothing

    part_request_approve(request_id=request.pk, actor=manager, source_id=wh.pk)
    assert level(wh, pump) == (5, 0)

    part_request_ship(request_id=request.pk, actor=manager)
    assert level(wh, pump) == (3, 0)  # left the warehouse
    assert level(own, pump) == (0, 0)  # in transit: not in the van until the technician says so

    received = part_request_receive(request_id=request.pk, actor=technician.user)
    assert received.status == "received" and received.received_at is not None
    assert level(own, pump) == (2, 0) and level(wh, pump) == (3, 0)
    rows = list(StockMove.objects.filter(kind__in=["transfer_out", "transfer_in"]).order_by("id")
                .values_list("kind", "location_id", "counterpart_id", "quantity"))
    assert rows == [("transfer_out", wh.pk, own.pk, Decimal(-2)), ("transfer_in", own.pk, wh.pk, Decimal(2))]
    assert_ledger_balances()


def test_shipping_more_than_the_source_holds_is_refused_and_changes_nothing(technician, manager, setup):
    wh, _own, pump, _job = setup
    request = _ask(technician, pump, quantity=9)
    assert request.purpose == "restock"
    part_request_approve(request_id=request.pk, actor=manager, source_id=wh.pk)
    with pytest.raises(Conflict) as refused:
        part_request_ship(request_id=request.pk, actor=manager)
    assert refused.value.code == "insufficient_stock"
    assert "5 pcs available, 9 wanted" in refused.value.message
    request.refresh_from_db()
    assert request.status == "approved" and level(wh, pump) == (5, 0)
    assert not StockMove.objects.filter(kind="transfer_out").exists()
    assert_ledger_balances()


def test_reject_needs_a_reason_and_ends_the_request(technician, manager, setup):
    wh, _own, pump, job = setup
    request = _ask(technician, pump, job)
    with pytest.raises(InvalidInput):
        part_request_reject(request_id=request.pk, actor=manager, reason="  ")
    part_request_reject(request_id=request.pk, actor=manager, reason="Use the spare in the van")
    request.refresh_from_db()
    assert (request.status, request.reason, request.decided_by) == ("rejected", "Use the spare in the van", manager)
    with pytest.raises(Conflict) as late:
        part_request_approve(request_id=request.pk, actor=manager, source_id=wh.pk)
    assert late.value.code == "request_state" and "already rejected" in late.value.message


def test_the_technician_cancels_an_unshipped_request_but_not_a_shipped_one(technician, manager, setup):
    wh, _own, pump, job = setup
    first, second = _ask(technician, pump, job), _ask(technician, pump, job, quantity=1)
    assert part_request_cancel(request_id=first.pk, actor=technician.user).status == "cancelled"
    part_request_approve(request_id=second.pk, actor=manager, source_id=wh.pk)
    part_request_ship(request_id=second.pk, actor=manager)
    with pytest.raises(Conflict):
        part_request_cancel(request_id=second.pk, actor=technician.user)


def test_bad_requests_are_refused(technician, other_technician, setup):
    _wh, _own, pump, _job = setup
    with pytest.raises(InvalidInput):
        part_request_create(actor=technician.user, lines=[])
    with pytest.raises(InvalidInput):
        part_request_create(actor=technician.user, lines=[(pump.pk, "1.5")])  # counted in whole pcs
    with pytest.raises(InvalidInput):
        part_request_create(actor=technician.user, lines=[(pump.pk, "-1")])
    someone_elses_job = WorkOrderFactory(technician=other_technician, status="assigned")
    with pytest.raises(NotFound):
        part_request_create(actor=technician.user, lines=[(pump.pk, 1)], work_order_id=someone_elses_job.pk)
    with pytest.raises(Conflict) as no_van:  # the other technician has no van to receive into
        part_request_create(actor=other_technician.user, lines=[(pump.pk, 1)])
    assert no_van.value.code == "no_van"
    assert not PartRequest.objects.exists()


def test_only_managers_and_storekeepers_approve_and_ship(technician, dispatcher, setup):
    wh, _own, pump, _job = setup
    request = _ask(technician, pump)
    for actor in (technician.user, dispatcher):
        with pytest.raises(Forbidden):
            part_request_approve(request_id=request.pk, actor=actor, source_id=wh.pk)
    storekeeper = UserFactory(username="store", is_staff=True)
    storekeeper.user_permissions.add(Permission.objects.get(codename="handle_partrequest"))
    part_request_approve(request_id=request.pk, actor=storekeeper, source_id=wh.pk)
    part_request_ship(request_id=request.pk, actor=storekeeper)
    with pytest.raises(Forbidden):  # receipt is the technician's own
        part_request_receive(request_id=request.pk, actor=storekeeper)


def test_a_technician_sees_only_their_own_requests(client, technician, setup):
    wh, _own, pump, _job = setup
    mine = _ask(technician, pump)
    stranger = TechnicianFactory(user__username="tech3")
    van(stranger)
    theirs = _ask(stranger, pump)
    client.force_login(technician.user)
    listed = client.get("/api/v1/stock/requests/").json()
    assert [row["id"] for row in listed] == [mine.pk]
    assert client.get(f"/api/v1/stock/requests/{theirs.pk}/").status_code == 404
    assert client.post(f"/api/v1/stock/requests/{theirs.pk}/cancel/", {}, content_type="application/json"
                       ).status_code == 404
    page = client.get(reverse("tech:parts")).content.decode()
    assert f'data-request="{mine.pk}"' in page and f'data-request="{theirs.pk}"' not in page
    assert client.post(reverse("tech:parts-step", args=[theirs.pk, "cancel"])).status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == "requested"
    assert client.get(reverse("stock:requests")).status_code == 403  # the staff page is not theirs


def test_the_api_walks_a_request_through_its_steps(client, technician, manager, setup):
    wh, own, pump, job = setup
    client.force_login(technician.user)
    created = client.post("/api/v1/stock/requests/", {"work_order": job.pk, "lines": [
        {"part": pump.pk, "quantity": "2"}]}, content_type="application/json")
    assert created.status_code == 201, created.content
    pk = created.json()["id"]
    assert created.json()["lines"] == [{"part": pump.pk, "part_number": "PUMP-1", "quantity": "2", "serials": []}]
    assert client.post(f"/api/v1/stock/requests/{pk}/approve/", {"source": wh.pk},
                       content_type="application/json").status_code == 403
    client.force_login(manager)
    approved = client.post(f"/api/v1/stock/requests/{pk}/approve/", {"source": wh.pk},
                           content_type="application/json")
    assert approved.status_code == 200 and approved.json()["source"] == wh.pk
    again = client.post(f"/api/v1/stock/requests/{pk}/approve/", {"source": wh.pk}, content_type="application/json")
    assert again.status_code == 409 and again.json()["error"] == "request_state"
    assert client.post(f"/api/v1/stock/requests/{pk}/ship/").json()["status"] == "shipped"
    client.force_login(technician.user)
    assert client.post(f"/api/v1/stock/requests/{pk}/receive/").json()["status"] == "received"
    assert level(own, pump) == (2, 0)
    assert_ledger_balances()


def test_the_phone_pages_request_and_confirm_and_the_staff_page_approves_and_ships(client, technician, manager,
                                                                                   setup):
    wh, own, pump, job = setup
    client.force_login(technician.user)
    job_page = client.get(reverse("tech:job", args=[job.pk])).content.decode()
    assert reverse("tech:job-parts", args=[job.pk]) in job_page
    client.post(reverse("tech:job-parts", args=[job.pk]), {"part": ["PUMP-1", ""], "qty": ["3", ""]})
    request = PartRequest.objects.get()
    assert (request.work_order_id, request.lines.get().quantity) == (job.pk, 3)
    assert f'data-request="{request.pk}"' in client.get(reverse("tech:job", args=[job.pk])).content.decode()

    client.force_login(manager)
    page = client.get(reverse("stock:requests")).content.decode()
    assert f'data-request="{request.pk}"' in page
    client.post(reverse("stock:request-action", args=[request.pk, "approve"]), {"source": wh.pk})
    client.post(reverse("stock:request-action", args=[request.pk, "ship"]))
    request.refresh_from_db()
    assert request.status == "shipped" and level(wh, pump) == (2, 0)

    client.force_login(technician.user)
    assert reverse("tech:parts-step", args=[request.pk, "receive"]) in client.get(reverse("tech:parts")).content.decode()
    client.post(reverse("tech:parts-step", args=[request.pk, "receive"]))
    assert level(own, pump) == (3, 0)
    assert_ledger_balances()


def test_a_serial_numbered_part_ships_its_oldest_units(technician, manager):
    wh, compressor = warehouse(), part(part_number="COMP-1", serialized=True)
    put(wh, compressor, 3, serials=["C1", "C2", "C3"])
    own = van(technician)
    request = part_request_create(actor=technician.user, lines=[(compressor.pk, 2)])
    part_request_approve(request_id=request.pk, actor=manager, source_id=wh.pk)
    part_request_ship(request_id=request.pk, actor=manager)
    assert request.lines.get().serials == ["C1", "C2"]
    part_request_receive(request_id=request.pk, actor=technician.user)
    assert level(own, compressor) == (2, 0) and level(wh, compressor) == (1, 0)
    assert set(own.serial_units.values_list("serial", flat=True)) == {"C1", "C2"}
    assert_ledger_balances()
