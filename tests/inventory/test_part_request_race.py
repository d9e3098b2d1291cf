"""Two managers approving one part request at the same moment (PostgreSQL, separate connections)."""

import pytest

from core.errors import Conflict
from inventory.models import PartRequest
from inventory.requests import part_request_approve, part_request_create
from tests.concurrency import race
from tests.factories import TechnicianFactory, UserFactory

from .helpers import part, put, van, warehouse

pytestmark = pytest.mark.django_db(transaction=True)


def test_two_managers_approving_at_once_one_wins_the_other_gets_a_conflict():
    technician = TechnicianFactory()
    north, south, pump = warehouse("north"), warehouse("south"), part()
    put(north, pump, 5)
    put(south, pump, 5)
    van(technician)
    request = part_request_create(actor=technician.user, lines=[(pump.pk, 1)])
    first = UserFactory(username="m1", first_name="Ann", last_name="Lee", roles=["manager"])
    second = UserFactory(username="m2", first_name="Bo", last_name="Wu", roles=["manager"])

    results = race([
        lambda: part_request_approve(request_id=request.pk, actor=first, source_id=north.pk),
        lambda: part_request_approve(request_id=request.pk, actor=second, source_id=south.pk),
    ])

    won = [r for r in results if isinstance(r, PartRequest)]
    lost = [r for r in results if isinstance(r, Conflict)]
    assert len(won) == 1 and len(lost) == 1, results
    request.refresh_from_db()
    assert (request.status, request.source_id, request.decided_by_id) == (
        "approved", won[0].source_id, won[0].decided_by_id)
    winner = first if won[0].decided_by_id == first.pk else second
    assert lost[0].code == "request_state"
    assert f"already approved by {winner.get_full_name()}" in lost[0].message
