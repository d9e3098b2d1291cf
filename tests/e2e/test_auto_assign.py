"""The dispatcher at a desk: automatic assignment proposes, the dispatcher unticks one, accepts, and
undoes another; every page in both languages, checked by axe-core."""

import pytest

from core import roles as R
from tests.factories import TechnicianFactory, UserFactory, WorkOrderFactory
from workorders.lifecycle import Status
from workorders.models import WorkOrder

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "board-pass-1357"


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_dispatcher_previews_accepts_some_and_undoes_one(language, people, screenshots, axe, site):
    TechnicianFactory(home_latitude=31.2, home_longitude=121.5, user__first_name="Li")
    orders = [WorkOrderFactory(priority=p) for p in (4, 3, 2)]
    UserFactory(username="dispatcher", password=PASSWORD, roles=[R.DISPATCHER], is_staff=True)
    findings = []

    desk = people.open("dispatcher", "desktop", language)
    page = desk.page
    desk.go("/dispatch/")
    desk.log_in("dispatcher", PASSWORD)

    # The board's button opens the preview; nothing is assigned yet
    with page.expect_navigation():
        page.click("a[href$='/dispatch/auto-assign/']")
    rows = page.locator("table.proposals tbody tr")
    assert rows.count() == 3
    assert set(WorkOrder.objects.values_list("status", flat=True)) == {Status.NEW}
    screenshots.take(desk, "preview")
    findings += axe(page)

    # Untick the least urgent and accept the rest
    page.uncheck(f"#pick-{orders[2].pk}")
    with page.expect_navigation():
        page.click("table.proposals ~ p button[type=submit]")
    assert page.locator("table.assigned tbody tr").count() == 2
    screenshots.take(desk, "accepted")
    findings += axe(page)
    statuses = dict(WorkOrder.objects.values_list("pk", "status"))
    assert [statuses[o.pk] for o in orders] == [Status.ASSIGNED, Status.ASSIGNED, Status.NEW]

    # Undo the second one
    page.check(f"#undo-{orders[1].pk}")
    with page.expect_navigation():
        page.click("table.assigned ~ p button[type=submit]")
    assert page.locator(f"tr[data-work-order='{orders[1].pk}'] .badge").is_visible()
    screenshots.take(desk, "undone")
    statuses = dict(WorkOrder.objects.values_list("pk", "status"))
    assert [statuses[o.pk] for o in orders] == [Status.ASSIGNED, Status.NEW, Status.NEW]

    assert not desk.script_errors and not desk.csp_violations
    assert findings == [], findings
