"""Changing a work order's details through the API (PATCH): ETag on reading, If-Match required
on writing, a stale version refused with 412, and bad input refused with nothing written."""

import pytest

from tests.factories import CustomerFactory, EquipmentFactory, PartnerTechnicianFactory, SiteFactory, WorkOrderFactory
from tests.workorders.test_api import api, detail_url  # noqa: F401
from workorders.lifecycle import Status
from workorders.models import WorkOrder, WorkOrderEvent


def _snapshot(wo):
    return WorkOrder.objects.filter(pk=wo.pk).values().get(), WorkOrderEvent.objects.filter(work_order=wo).count()


def _etag(client, wo):
    response = client.get(detail_url(wo.pk))
    assert response.status_code == 200
    return response["ETag"]


def patch(client, wo, body, etag=None):
    headers = {"If-Match": etag} if etag is not None else {}
    return client.patch(detail_url(wo.pk), body, format="json", headers=headers)


@pytest.fixture
def order(db):
    return WorkOrderFactory(status=Status.NEW, priority=2)


def test_a_dispatcher_changes_details_and_the_change_is_recorded(api, dispatcher, order):
    client = api(dispatcher)
    etag = _etag(client, order)
    site = SiteFactory(customer=order.customer, address="88 Nanjing Road, Shanghai")
    equipment = EquipmentFactory(customer=order.customer, site=site)

    response = patch(client, order, {
        "priority": 4, "description": "  Water on the floor now.  ", "site": site.pk, "equipment": equipment.pk,
        "preferred_start": "2026-05-02T09:00:00+08:00", "preferred_end": "2026-05-02T12:00:00+08:00",
        "external_ref": "ERP-9",
    }, etag)

    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["priority"], body["description"], body["site"], body["equipment"], body["external_ref"]) == (
        4, "Water on the floor now.", site.pk, equipment.pk, "ERP-9")
    assert body["preferred_start"] == "2026-05-02T09:00:00+08:00"
    assert response["ETag"] != etag and response["ETag"] == _etag(client, order)
    order.refresh_from_db()
    assert order.address == "88 Nanjing Road, Shanghai", "the order goes where its new site is"
    event = WorkOrderEvent.objects.filter(work_order=order).latest("id")
    assert (event.action, event.actor, event.actor_role) == ("update", dispatcher, "dispatcher")
    assert event.data["changes"]["priority"] == [2, 4]
    assert event.data["changes"]["external_ref"] == [None, "ERP-9"]
    assert body["events"][-1]["action"] == "update"


def test_a_stale_version_gets_412_with_the_current_one_and_nothing_is_written(api, dispatcher, manager, order):
    mine, theirs = api(dispatcher), api(manager)
    seen = _etag(mine, order)
    assert patch(theirs, order, {"priority": 3}, _etag(theirs, order)).status_code == 200
    before = _snapshot(order)

    response = patch(mine, order, {"priority": 1}, seen)

    assert response.status_code == 412
    current = _etag(mine, order)
    assert response.json()["error"] == "stale"
    assert f'"{response.json()["version"]}"' == current == response["ETag"]
    assert _snapshot(order) == before
    assert patch(mine, order, {"priority": 1}, response["ETag"]).status_code == 200, "re-applied to the current"


@pytest.mark.parametrize("if_match, status", [(None, 428), ("", 428), ("*", 400)])
def test_a_change_without_the_version_it_was_made_from_is_refused(api, dispatcher, order, if_match, status):
    before = _snapshot(order)

    response = patch(api(dispatcher), order, {"priority": 4}, if_match)

    assert response.status_code == status
    assert _snapshot(order) == before


def test_the_body_may_name_the_version_instead_of_if_match(api, dispatcher, manager, order):
    mine, theirs = api(dispatcher), api(manager)
    seen = _etag(mine, order).strip('"')
    changed = patch(mine, order, {"priority": 3, "version": seen})
    assert changed.status_code == 200 and changed.json()["priority"] == 3
    assert changed["ETag"] != f'"{seen}"'
    assert "version" not in WorkOrderEvent.objects.filter(work_order=order).last().data.get("changes", {})

    before = _snapshot(order)
    stale = patch(theirs, order, {"priority": 1, "version": seen})
    assert stale.status_code == 412 and f'"{stale.json()["version"]}"' == changed["ETag"] == stale["ETag"]
    assert _snapshot(order) == before
    # The header wins when both are sent; a version of the wrong type is bad input.
    assert patch(theirs, order, {"priority": 1, "version": seen}, changed["ETag"]).status_code == 200
    wrong = patch(theirs, order, {"priority": 2, "version": 5})
    assert wrong.status_code == 400 and "version" in wrong.json()["fields"]


def test_if_match_takes_any_of_several_versions_and_weak_ones(api, dispatcher, order):
    client = api(dispatcher)
    etag = _etag(client, order)

    assert patch(client, order, {"priority": 3}, f'"0", W/{etag}').status_code == 200


@pytest.mark.parametrize("body, field", [
    ({"status": "closed"}, "status"),
    ({"technician": 1}, "technician"),
    ({"customer": 1, "priority": 4}, "customer"),
    ({"appointment_start": "2026-05-02T09:00:00+08:00"}, "appointment_start"),
    ({"colour": "blue", "priority": 4}, "colour"),
    ({"priority": 9}, "priority"),
    ({"priority": "high"}, "priority"),
    ({"description": "   "}, "description"),
    ({"description": "x" * 4001}, "description"),
    ({"preferred_start": "2026-05-02T12:00:00+08:00", "preferred_end": "2026-05-02T09:00:00+08:00"}, "preferred_end"),
    ({"preferred_start": "2026-05-02T12:00:00+08:00"}, "preferred_end"),
    ({"preferred_start": "tomorrow"}, "preferred_start"),
    ({"site": 0}, "site"),
    ({"equipment": "one"}, "equipment"),
    ({"external_ref": "x" * 101}, "external_ref"),
])
def test_bad_input_is_refused_naming_the_field_and_nothing_is_written(api, dispatcher, order, body, field):
    client = api(dispatcher)
    etag = _etag(client, order)
    before = _snapshot(order)

    response = patch(client, order, body, etag)

    assert response.status_code == 400, response.json()
    assert field in response.json()["fields"]
    assert _snapshot(order) == before


def test_a_site_or_equipment_of_another_customer_is_refused(api, dispatcher, order):
    client = api(dispatcher)
    etag = _etag(client, order)
    stranger = CustomerFactory()
    before = _snapshot(order)

    for body, field in (({"site": SiteFactory(customer=stranger).pk}, "site"),
                        ({"equipment": EquipmentFactory(customer=stranger).pk}, "equipment"),
                        ({"site": 99999999}, "site")):
        response = patch(client, order, body, etag)
        assert response.status_code == 400 and field in response.json()["fields"], response.json()
    assert _snapshot(order) == before


def test_a_reference_another_order_has_is_refused(api, dispatcher, order):
    WorkOrderFactory(external_ref="ERP-1")
    client = api(dispatcher)
    before = _snapshot(order)

    response = patch(client, order, {"external_ref": "ERP-1", "priority": 4}, _etag(client, order))

    assert response.status_code == 400 and "external_ref" in response.json()["fields"]
    assert _snapshot(order) == before


def test_sending_what_the_order_already_has_writes_nothing(api, dispatcher, order):
    client = api(dispatcher)
    etag = _etag(client, order)
    before = _snapshot(order)

    response = patch(client, order, {"priority": 2, "description": order.description}, etag)

    assert response.status_code == 200
    assert response["ETag"] == etag
    assert _snapshot(order) == before


def test_field_roles_may_not_change_details_and_others_orders_are_404(api, technician, partner_technician):
    own = WorkOrderFactory(status=Status.ASSIGNED, technician=technician)
    colleague = PartnerTechnicianFactory(partner_company=partner_technician.partner_company)
    companys = WorkOrderFactory(status=Status.ASSIGNED, technician=colleague)
    client, partner = api(technician.user), api(partner_technician.user)

    assert patch(client, own, {"priority": 4}, _etag(client, own)).status_code == 403
    assert patch(partner, companys, {"priority": 4}, _etag(partner, companys)).status_code == 403
    for caller, other in ((client, companys), (partner, own)):
        response = patch(caller, other, {"priority": 4}, '"0"')
        assert response.status_code == 404 and response.json()["error"] == "not_found"
    assert response.status_code == 404
    assert WorkOrder.objects.filter(priority=4).count() == 0


def test_a_missing_order_is_404(api, dispatcher):
    assert patch(api(dispatcher), WorkOrder(pk=987654), {"priority": 4}, '"0"').status_code == 404


@pytest.mark.parametrize("status", [Status.RESOLVED, Status.CLOSED, Status.CANCELLED])
def test_an_order_no_longer_open_keeps_its_details(api, manager, technician, status):
    wo = WorkOrderFactory(status=status, technician=technician if status == Status.RESOLVED else None)
    client = api(manager)
    before = _snapshot(wo)

    response = patch(client, wo, {"priority": 4}, _etag(client, wo))

    assert response.status_code == 409
    assert _snapshot(wo) == before


def test_the_detail_answers_the_version_and_a_transition_changes_it(api, dispatcher, technician, order):
    client = api(dispatcher)
    etag = _etag(client, order)
    assert client.post(detail_url(order.pk) + "transitions/", {"action": "assign", "technician": technician.pk,
                                                        "appointment_start": "2026-05-02T09:00:00+08:00",
                                                        "appointment_end": "2026-05-02T11:00:00+08:00"},
                       format="json").status_code == 200

    assert _etag(client, order) != etag
    assert patch(client, order, {"priority": 4}, etag).status_code == 412
