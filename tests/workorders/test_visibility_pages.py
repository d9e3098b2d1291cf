"""Who sees which work orders on the staff pages.

Office roles (agent, dispatcher, manager) see every work order; a technician
only those assigned to them; a partner technician those of their company.
Anything else answers 404, as if it did not exist.
"""

import re

import pytest

from core import roles as R
from tests.factories import PartnerTechnicianFactory, UserFactory, WorkOrderFactory
from workorders.lifecycle import Status

pytestmark = pytest.mark.django_db

LIST_URL = "/staff/work-orders/"


def _listed_ids(response) -> set[int]:
    return {int(pk) for pk in re.findall(r'<td><a href="/staff/work-orders/(\d+)/">', response.content.decode())}


@pytest.fixture
def orders(technician, other_technician, partner_technician):
    """One order each for the technician, another technician, the partner, a partner colleague and nobody."""
    colleague = PartnerTechnicianFactory(partner_company=partner_technician.partner_company)
    return {
        "mine": WorkOrderFactory(status=Status.ASSIGNED, technician=technician),
        "other": WorkOrderFactory(status=Status.ACCEPTED, technician=other_technician),
        "partner": WorkOrderFactory(status=Status.ASSIGNED, technician=partner_technician),
        "colleague": WorkOrderFactory(status=Status.IN_PROGRESS, technician=colleague),
        "other_partner": WorkOrderFactory(status=Status.ASSIGNED, technician=PartnerTechnicianFactory()),
        "unassigned": WorkOrderFactory(status=Status.NEW),
    }


def test_technician_sees_only_own_work_orders(client, technician, orders):
    client.force_login(technician.user)
    assert _listed_ids(client.get(LIST_URL)) == {orders["mine"].pk}
    assert client.get(f"/staff/work-orders/{orders['mine'].pk}/").status_code == 200


@pytest.mark.parametrize("key", ["other", "partner", "unassigned"])
def test_technician_asking_for_anothers_work_order_gets_404(client, technician, orders, key):
    client.force_login(technician.user)
    wo = orders[key]
    response = client.get(f"/staff/work-orders/{wo.pk}/")
    assert response.status_code == 404
    assert wo.contact_phone not in response.content.decode()
    # Filtering for it by number does not reveal it either.
    assert _listed_ids(client.get(LIST_URL, {"number": wo.number})) == set()


def test_technician_cannot_act_on_anothers_work_order(client, technician, orders):
    client.force_login(technician.user)
    wo = orders["other"]
    response = client.post(f"/staff/work-orders/{wo.pk}/transition/", {"action": "hold", "note": "mine now"})
    assert response.status_code == 404
    wo.refresh_from_db()
    assert (wo.status, wo.events.count()) == (Status.ACCEPTED, 1)


def test_partner_technician_sees_only_their_companys_work_orders(client, partner_technician, orders):
    client.force_login(partner_technician.user)
    assert _listed_ids(client.get(LIST_URL)) == {orders["partner"].pk, orders["colleague"].pk}
    assert client.get(f"/staff/work-orders/{orders['colleague'].pk}/").status_code == 200
    for key in ("mine", "other_partner", "unassigned"):
        assert client.get(f"/staff/work-orders/{orders[key].pk}/").status_code == 404


def test_field_roles_are_not_offered_a_filter_by_other_technicians(client, technician, orders):
    client.force_login(technician.user)
    form = client.get(LIST_URL).context["form"]
    assert "technician" not in form.fields
    # A technician id in the address does not widen what they see.
    assert _listed_ids(client.get(LIST_URL, {"technician": orders["other"].technician_id})) == {orders["mine"].pk}


@pytest.mark.parametrize("role", [R.AGENT, R.DISPATCHER, R.MANAGER])
def test_office_roles_see_every_work_order(client, orders, role):
    client.force_login(UserFactory(username=f"office-{role}", roles=[role]))
    assert _listed_ids(client.get(LIST_URL)) == {wo.pk for wo in orders.values()}
    for wo in orders.values():
        assert client.get(f"/staff/work-orders/{wo.pk}/").status_code == 200


def test_superuser_sees_everything_and_may_fire_any_transition_from_the_state(client, orders):
    admin = UserFactory(username="root", is_superuser=True, is_staff=True)
    client.force_login(admin)
    assert _listed_ids(client.get(LIST_URL)) == {wo.pk for wo in orders.values()}
    actions = {t.action for t in client.get(f"/staff/work-orders/{orders['mine'].pk}/").context["actions"]}
    assert actions == {"reassign", "unassign", "reject", "accept", "cancel"}


def test_anonymous_visitor_sees_nothing(client, orders):
    for path in (LIST_URL, f"/staff/work-orders/{orders['mine'].pk}/"):
        response = client.get(path)
        assert response.status_code == 302
        assert "/accounts/login/" in response["Location"]


def test_field_users_opening_the_same_filtered_page_one_after_another_each_see_their_own(
    client, technician, other_technician, partner_technician, orders, settings
):
    """The queue's SQL is kept per process for each filter set; who asks still decides the rows."""
    settings.STAFF_PAGE_SIZE = 1
    more_mine = WorkOrderFactory(status=Status.ASSIGNED, technician=technician)
    more_partner = WorkOrderFactory(status=Status.ASSIGNED, technician=partner_technician)
    expected = {
        technician.user: [more_mine.pk, orders["mine"].pk],
        other_technician.user: [orders["other"].pk],
        partner_technician.user: [more_partner.pk, orders["colleague"].pk, orders["partner"].pk],
    }
    params = {"status": ["assigned", "accepted", "in_progress"]}
    for _round in range(2):
        for user, pks in expected.items():
            client.force_login(user)
            seen, response = [], client.get(LIST_URL, params)
            while True:
                seen += sorted(_listed_ids(response))
                following = re.search(r'<a href="\?([^"]*)" rel="next">', response.content.decode())
                if following is None:
                    break
                response = client.get(LIST_URL + "?" + following.group(1).replace("&amp;", "&"))
            assert seen == pks, user.username
