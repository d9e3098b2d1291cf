"""Who may do what (core/permissions.py and each app's permissions.py): the rules answer each role
as the pages and the API always have, an unknown rule is a mistake that is not silently refused,
and docs/architecture.md lists exactly the rules that exist."""

import re
from pathlib import Path

import pytest
from django.contrib.auth.models import AnonymousUser, Permission
from django.core.exceptions import ImproperlyConfigured
from django.utils import translation

from core import roles as R
from core.errors import Forbidden, NotFound
from core.permissions import may, registered, require
from tests.factories import UserFactory

ROOT = Path(__file__).resolve().parents[2]

# Who passes each rule. "all", "customer", "partner": API clients' service users with such a key.
EVERYONE = ("anonymous", "nobody", "agent", "dispatcher", "manager", "technician", "partner_technician",
            "superuser", "all", "customer", "partner", "storekeeper")
EXPECTED = {
    "core.office_pages": {"agent", "dispatcher", "manager", "superuser"},
    "catalog.change_part": {"manager", "superuser", "all"},
    "catalog.change_servicetype": {"manager", "superuser", "all"},
    "catalog.read_stock_totals": {"agent", "dispatcher", "manager", "superuser", "all"},
    "technicians.change": {"dispatcher", "manager", "superuser", "all", "partner"},
    "technicians.read_home_addresses": {"dispatcher", "manager", "superuser", "all", "partner"},
    "customers.read_internals": {"agent", "dispatcher", "manager", "superuser", "all", "customer"},
    "inventory.move_stock": {"manager", "superuser"},
    "inventory.handle_part_requests": {"manager", "superuser", "storekeeper"},
    "inventory.set_reorder_points": {"manager", "superuser", "storekeeper"},
    "inventory.request_parts": {"technician", "partner_technician", "superuser"},
    "inventory.read_every_part_request": {"agent", "dispatcher", "manager", "superuser", "all", "storekeeper"},
    "inventory.open_stock_pages": {"agent", "dispatcher", "manager", "technician", "partner_technician",
                                   "superuser"},
    "inventory.change_locations": {"manager", "superuser"},
    "dispatch.use_board": {"dispatcher", "manager", "superuser"},
    "maintenance.view_calendar": {"dispatcher", "manager", "superuser"},
    "triage.suggest": {"agent", "dispatcher", "manager", "superuser", "all"},
    "completion.hand_over_for_invoicing": {"manager", "superuser", "all"},
    "workorders.read_feedback": {"agent", "dispatcher", "manager", "superuser", "all", "customer"},
    "reports.view": {"manager", "superuser"},
    "knowledge.read_history": {"agent", "dispatcher", "manager", "superuser"},
    "field.use_phone_pages": {"technician", "partner_technician", "superuser"},
    "workorders.open_staff_pages": {"agent", "dispatcher", "manager", "technician", "partner_technician",
                                    "superuser"},
    "workorders.create": {"agent", "dispatcher", "manager", "superuser", "all"},
    "workorders.change_details": {"agent", "dispatcher", "manager", "superuser", "all", "customer", "partner"},
    "completion.complete": {"technician", "partner_technician", "superuser"},
    "completion.revise": {"technician", "partner_technician", "superuser"},
    "completion.review": {"manager", "superuser"},
    "workorders.take_requests": {"agent", "dispatcher", "manager", "superuser"},
    "workorders.handle_escalations": {"dispatcher", "manager", "superuser"},
    "workorders.record_callback": {"manager", "superuser"},
    "core.use_api": {"agent", "dispatcher", "manager", "technician", "partner_technician", "superuser", "all",
                     "customer", "partner"},
    "core.read_api_docs": {"agent", "dispatcher", "manager", "technician", "partner_technician", "superuser",
                           "all", "customer", "partner"},
}


def _people():
    people = {"anonymous": AnonymousUser(), "nobody": UserFactory(username="nobody")}
    for role in R.STAFF_ROLES:
        people[role] = UserFactory(username=role, roles=[role], is_staff=role in R.OFFICE_ROLES)
    people["superuser"] = UserFactory(username="root", is_superuser=True, is_staff=True)
    for kind, scope in (("all", ("all",)), ("customer", ("customer", 1)), ("partner", ("partner", 1))):
        client = UserFactory(username=f"client-{kind}", roles=[R.INTEGRATION])
        client.api_client_scope = scope  # as apiclients.auth sets it from the key
        people[kind] = client
    storekeeper = UserFactory(username="storekeeper")
    storekeeper.user_permissions.add(Permission.objects.get(codename="handle_partrequest"))
    people["storekeeper"] = storekeeper
    return people


@pytest.mark.django_db
def test_each_rule_answers_each_kind_of_user_as_the_pages_always_have(settings):
    settings.API_DOCS_PUBLIC = False
    people = _people()
    answers = {name: {who for who in EVERYONE if may(people[who], name)} for name in EXPECTED}
    assert answers == EXPECTED


@pytest.mark.django_db
def test_a_company_that_publishes_its_api_docs_shows_them_to_anyone(settings):
    settings.API_DOCS_PUBLIC = True
    assert may(AnonymousUser(), "core.read_api_docs")
    assert not may(AnonymousUser(), "core.use_api")


def test_the_table_above_covers_every_rule():
    assert sorted(EXPECTED) == registered()


def test_docs_list_exactly_the_registered_rules():
    text = (ROOT / "docs" / "architecture.md").read_text()
    section = text.split("## Who may do what", 1)[1].split("\n## ", 1)[0]
    listed = set(re.findall(r"^\| `([a-z0-9_]+\.[a-z0-9_]+)` \|", section, flags=re.M))
    assert listed == set(registered())


@pytest.mark.django_db
def test_a_refusal_says_why_in_the_users_language_and_a_hidden_object_is_not_found():
    agent = UserFactory(username="agent", roles=[R.AGENT])
    technician = UserFactory(username="tech", roles=[R.TECHNICIAN])
    with translation.override("zh-hans"), pytest.raises(Forbidden) as refused:
        require(agent, "dispatch.use_board")
    assert refused.value.message == "派单看板仅供服务调度和服务经理使用。"
    with pytest.raises(NotFound):
        require(technician, "workorders.read_feedback", hide=True)
    require(agent, "workorders.read_feedback", hide=True)  # allowed: nothing raised


def test_a_misspelt_rule_is_a_mistake_not_a_silent_no():
    with pytest.raises(ImproperlyConfigured, match="dispatch.use_bord"):
        may(AnonymousUser(), "dispatch.use_bord")
