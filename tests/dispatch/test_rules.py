"""Who may be given a work order: each kind of exclusion, with the reason a dispatcher reads.

The stories run through the real assignment service (``workorder_transition``),
which calls the dispatch check with both rows locked; the candidates list
must give the same reasons.
"""

import datetime as dt
import random

import numpy as np
import pytest
import time_machine
from django.utils import timezone

from core.errors import Conflict, InvalidInput
from dispatch import rules
from dispatch.rules import Booking, OrderFacts, ShiftRow, TechFacts
from dispatch.scoring import Weights, pair_cost_matrix, pair_parts
from dispatch.selectors import workorder_candidates
from tests.factories import (
    PartnerCompanyFactory,
    PartnerTechnicianFactory,
    ServiceTypeFactory,
    SiteFactory,
    SkillFactory,
    TechnicianFactory,
    WorkOrderFactory,
)
from workorders.lifecycle import Status
from workorders.services import workorder_transition

from .factories import PartnerScopeFactory, ServiceTypeSkillFactory, ShiftFactory, at, booked, skilled

MONDAY = dt.date(2026, 11, 23)
TUESDAY = MONDAY + dt.timedelta(days=1)
WEDNESDAY = MONDAY + dt.timedelta(days=2)


@pytest.fixture(autouse=True)
def monday_ten_am(db):
    with time_machine.travel(at(MONDAY, 10), tick=False):
        yield


def assign(actor, work_order, technician, start=None, end=None, action="assign"):
    return workorder_transition(
        work_order_id=work_order.pk,
        action=action,
        actor=actor,
        technician_id=technician.pk,
        appointment_start=start,
        appointment_end=end,
    )


def refused(error_type, actor, work_order, technician, start=None, end=None):
    """Assigning is refused with ``error_type``; the order is left as it was, with no event."""
    with pytest.raises(error_type) as caught:
        assign(actor, work_order, technician, start, end)
    work_order.refresh_from_db()
    assert work_order.status == Status.NEW and work_order.technician_id is None
    assert not work_order.events.filter(action="assign").exists()
    return caught.value


def reasons_in_candidates(work_order, technician, window=None):
    eligible, excluded = workorder_candidates(work_order=work_order, window=window)
    for candidate in excluded:
        if candidate.technician.id == technician.pk:
            return [reason.code for reason in candidate.reasons]
    assert technician.pk in [c.technician.id for c in eligible]
    return []


# --- who the technician is ------------------------------------------------


def test_an_inactive_technician_is_refused_and_listed_as_inactive(dispatcher):
    tech = TechnicianFactory(active=False, user__first_name="Wang")
    wo = WorkOrderFactory()
    error = refused(InvalidInput, dispatcher, wo, tech)
    assert "is not active" in error.message
    assert reasons_in_candidates(wo, tech) == [rules.INACTIVE]


def test_a_technician_of_an_inactive_partner_company_is_refused(dispatcher):
    tech = PartnerTechnicianFactory(partner_company=PartnerCompanyFactory(name="Cool Air Ltd", active=False))
    wo = WorkOrderFactory()
    error = refused(InvalidInput, dispatcher, wo, tech)
    assert "Cool Air Ltd" in error.message and "not active" in error.message
    assert reasons_in_candidates(wo, tech) == [rules.INACTIVE]


def test_a_technician_without_the_skill_is_refused_naming_the_skill(dispatcher):
    gas = SkillFactory(code="gas-welding", name="Gas welding")
    service = ServiceTypeFactory(name="Boiler repair")
    ServiceTypeSkillFactory(service_type=service, skill=gas, min_level=2)
    tech = TechnicianFactory(user__first_name="Li")
    wo = WorkOrderFactory(service_type=service)
    error = refused(InvalidInput, dispatcher, wo, tech)
    assert "lacks the skill Gas welding" in error.message
    assert error.code == rules.MISSING_SKILL
    assert reasons_in_candidates(wo, tech) == [rules.MISSING_SKILL]


def test_a_technician_below_the_level_is_refused_with_both_levels(dispatcher):
    gas = SkillFactory(code="gas-welding", name="Gas welding")
    service = ServiceTypeFactory(name="Boiler repair")
    ServiceTypeSkillFactory(service_type=service, skill=gas, min_level=3)
    tech = TechnicianFactory()
    skilled(tech, gas, level=1)
    wo = WorkOrderFactory(service_type=service)
    error = refused(InvalidInput, dispatcher, wo, tech)
    assert "Gas welding at level 1" in error.message and "needs level 3" in error.message
    assert reasons_in_candidates(wo, tech) == [rules.SKILL_LEVEL]
    skilled_enough = TechnicianFactory()
    skilled(skilled_enough, gas, level=3)
    assert assign(dispatcher, wo, skilled_enough).technician == skilled_enough


def test_a_service_type_with_no_required_skills_and_no_window_goes_to_anyone_active(dispatcher, technician):
    wo = WorkOrderFactory()
    assert assign(dispatcher, wo, technician).status == Status.ASSIGNED


# --- partner scope --------------------------------------------------------


def test_a_partner_outside_its_service_types_is_refused(dispatcher):
    aircon, boiler = ServiceTypeFactory(name="Air conditioning"), ServiceTypeFactory(name="Boiler repair")
    partner = PartnerCompanyFactory(name="Cool Air Ltd")
    PartnerScopeFactory(partner_company=partner, service_type=aircon)
    tech = PartnerTechnicianFactory(partner_company=partner)
    wo = WorkOrderFactory(service_type=boiler)
    error = refused(InvalidInput, dispatcher, wo, tech)
    assert "outside the scope of Cool Air Ltd" in error.message and "Boiler repair" in error.message
    assert reasons_in_candidates(wo, tech) == [rules.OUTSIDE_SCOPE]
    assert assign(dispatcher, WorkOrderFactory(service_type=aircon), tech).technician == tech


def test_a_partner_outside_its_area_is_refused(dispatcher):
    partner = PartnerCompanyFactory(name="Pudong Service")
    PartnerScopeFactory(partner_company=partner, service_type=None, city="Shanghai")
    tech = PartnerTechnicianFactory(partner_company=partner)
    in_beijing = WorkOrderFactory(site=SiteFactory(city="Beijing"))
    error = refused(InvalidInput, dispatcher, in_beijing, tech)
    assert "Beijing" in error.message and "Pudong Service" in error.message
    in_shanghai = WorkOrderFactory(site=SiteFactory(city="shanghai"))
    assert assign(dispatcher, in_shanghai, tech).technician == tech


def test_a_partner_with_no_scope_rows_may_take_any_work(dispatcher, partner_technician):
    wo = WorkOrderFactory(site=SiteFactory(city="Beijing"))
    assert assign(dispatcher, wo, partner_technician).technician == partner_technician


# --- shifts ---------------------------------------------------------------


def test_a_window_outside_the_shift_is_refused_as_off_shift(dispatcher):
    tech = TechnicianFactory()
    ShiftFactory(technician=tech, weekday=0, start=dt.time(9), end=dt.time(17))
    wo = WorkOrderFactory()
    error = refused(InvalidInput, dispatcher, wo, tech, at(MONDAY, 16), at(MONDAY, 18))
    assert "off shift" in error.message and "16:00–18:00" in error.message
    assert reasons_in_candidates(wo, tech, (at(MONDAY, 16), at(MONDAY, 18))) == [rules.OFF_SHIFT]
    # Tuesday has no weekly row: off shift all day.
    refused(InvalidInput, dispatcher, wo, tech, at(TUESDAY, 10), at(TUESDAY, 11))
    assert assign(dispatcher, wo, tech, at(MONDAY, 15), at(MONDAY, 17)).technician == tech


def test_without_a_window_the_technician_needs_working_time_left_today(dispatcher):
    tech = TechnicianFactory()
    ShiftFactory(technician=tech, weekday=0, start=dt.time(9), end=dt.time(17))
    wo = WorkOrderFactory()
    with time_machine.travel(at(MONDAY, 17, 30), tick=False):
        error = refused(InvalidInput, dispatcher, wo, tech)
        assert "no working time left today" in error.message
    with time_machine.travel(at(MONDAY, 7), tick=False):  # before the shift: it is still to come
        assert assign(dispatcher, wo, tech).technician == tech


def test_a_technician_with_no_shifts_at_all_is_always_available(dispatcher, technician):
    wo = WorkOrderFactory()
    sunday_night = MONDAY + dt.timedelta(days=6)
    assert assign(dispatcher, wo, technician, at(sunday_night, 2), at(sunday_night, 3)).technician == technician


def test_a_dated_shift_replaces_the_week_and_an_absence_takes_time_out(dispatcher):
    tech = TechnicianFactory()
    for weekday in range(5):
        ShiftFactory(technician=tech, weekday=weekday, start=dt.time(9), end=dt.time(17))
    ShiftFactory(technician=tech, weekday=None, date=TUESDAY, start=dt.time(13), end=dt.time(15))
    ShiftFactory(technician=tech, weekday=None, date=WEDNESDAY, start=None, end=None, available=False)
    ShiftFactory(technician=tech, weekday=None, date=MONDAY, start=dt.time(12), end=dt.time(14), available=False)
    wo = WorkOrderFactory()
    refused(InvalidInput, dispatcher, wo, tech, at(TUESDAY, 10), at(TUESDAY, 11))  # short day: only 13–15
    refused(InvalidInput, dispatcher, wo, tech, at(WEDNESDAY, 10), at(WEDNESDAY, 11))  # day off
    refused(InvalidInput, dispatcher, wo, tech, at(MONDAY, 11), at(MONDAY, 13))  # across the doctor's visit
    assert assign(dispatcher, wo, tech, at(TUESDAY, 13), at(TUESDAY, 15)).technician == tech


# --- bookings and capacity ------------------------------------------------


def test_an_overlapping_window_is_refused_naming_the_other_booking(dispatcher, technician):
    other = booked(technician, at(MONDAY, 10), at(MONDAY, 12))
    wo = WorkOrderFactory()
    error = refused(Conflict, dispatcher, wo, technician, at(MONDAY, 11), at(MONDAY, 13))
    assert error.message.endswith(f"already booked 10:00–12:00 on {other.number}.")
    assert error.code == rules.DOUBLE_BOOKED
    assert reasons_in_candidates(wo, technician, (at(MONDAY, 11), at(MONDAY, 13))) == [rules.DOUBLE_BOOKED]
    # Back to back is not an overlap.
    assert assign(dispatcher, wo, technician, at(MONDAY, 12), at(MONDAY, 13)).technician == technician


def test_finished_and_cancelled_orders_do_not_hold_the_window(dispatcher, technician):
    booked(technician, at(MONDAY, 10), at(MONDAY, 12), status=Status.RESOLVED)
    booked(technician, at(MONDAY, 10), at(MONDAY, 12), status=Status.CANCELLED)
    wo = WorkOrderFactory()
    assert assign(dispatcher, wo, technician, at(MONDAY, 10), at(MONDAY, 12)).technician == technician


def test_reassigning_moves_the_booking_without_clashing_with_itself(dispatcher, technician, other_technician):
    wo = WorkOrderFactory()
    assign(dispatcher, wo, technician, at(MONDAY, 10), at(MONDAY, 12))
    moved = assign(dispatcher, wo, other_technician, at(MONDAY, 11), at(MONDAY, 13), action="reassign")
    assert moved.technician == other_technician
    # The first technician's 10–12 is free again.
    assert assign(dispatcher, WorkOrderFactory(), technician, at(MONDAY, 10), at(MONDAY, 12))


def test_a_technician_at_capacity_is_refused_with_the_count(dispatcher, technician, settings):
    settings.DISPATCH_CAPACITY = 2
    booked(technician, None, None)
    booked(technician, None, None, status=Status.EN_ROUTE)
    booked(technician, None, None, status=Status.CLOSED)  # done: does not count
    wo = WorkOrderFactory()
    error = refused(Conflict, dispatcher, wo, technician)
    assert "already has 2 open jobs (capacity 2)" in error.message
    assert reasons_in_candidates(wo, technician) == [rules.OVER_CAPACITY]


def test_every_reason_is_given_at_once(dispatcher):
    gas = SkillFactory(code="gas", name="Gas")
    service = ServiceTypeFactory()
    ServiceTypeSkillFactory(service_type=service, skill=gas)
    tech = TechnicianFactory()
    ShiftFactory(technician=tech, weekday=0)
    booked(tech, at(MONDAY, 18), at(MONDAY, 20))
    wo = WorkOrderFactory(service_type=service)
    error = refused(InvalidInput, dispatcher, wo, tech, at(MONDAY, 19), at(MONDAY, 21))
    assert len(error.fields["technician"]) == 3
    assert reasons_in_candidates(wo, tech, (at(MONDAY, 19), at(MONDAY, 21))) == [
        rules.MISSING_SKILL, rules.OFF_SHIFT, rules.DOUBLE_BOOKED
    ]


# --- candidates -----------------------------------------------------------


def test_candidates_are_ranked_by_score_with_their_parts(dispatcher):
    site = SiteFactory(latitude=31.23, longitude=121.47)
    near = TechnicianFactory(home_latitude=31.24, home_longitude=121.48)
    far = TechnicianFactory(home_latitude=31.50, home_longitude=121.90)
    seen_nearby = TechnicianFactory(home_latitude=32.0, home_longitude=122.5, last_latitude=31.231,
                                    last_longitude=121.471, last_seen_at=timezone.now() - dt.timedelta(minutes=5))
    wo = WorkOrderFactory(site=site)
    eligible, excluded = workorder_candidates(work_order=wo)
    assert [c.technician.id for c in eligible] == [seen_nearby.pk, near.pk, far.pk]
    assert excluded == []
    best = eligible[0]
    assert best.parts["position_from"] == "last" and best.parts["distance_km"] < 0.5
    assert eligible[2].parts["distance_km"] == pytest.approx(50.0, abs=10)
    assert set(best.parts["costs"]) == {"travel", "load", "skill", "window"}
    assert best.score == pytest.approx(sum(best.parts["costs"].values()), abs=0.01)


# --- the vectorised rules agree with the one-pair rules ---------------------


def _random_facts(rng: random.Random):
    day = MONDAY + dt.timedelta(days=rng.randrange(3))
    techs = []
    for t in range(rng.randrange(1, 7)):
        shifts = []
        if rng.random() < 0.6:
            shifts.append(ShiftRow(day.weekday(), None, dt.time(rng.choice([7, 8, 9])), dt.time(rng.choice([15, 17, 19]))))
            if rng.random() < 0.3:
                shifts.append(ShiftRow(None, day, None, None, available=False))
            if rng.random() < 0.3:
                shifts.append(ShiftRow(None, day, dt.time(12), dt.time(13), available=False))
        bookings = []
        for b in range(rng.randrange(3)):
            start = at(day, rng.randrange(7, 19))
            bookings.append(Booking(1000 + t * 10 + b, f"WO-{t}-{b}", start, start + dt.timedelta(hours=rng.randrange(1, 3))))
        techs.append(
            TechFacts(
                id=t + 1,
                name=f"T{t}",
                active=rng.random() < 0.9,
                partner_company_id=rng.choice([None, None, 7]),
                partner_name="P",
                partner_active=rng.random() < 0.9,
                skills={s: rng.randrange(1, 6) for s in range(3) if rng.random() < 0.7},
                shifts=shifts,
                open_job_ids={b.work_order_id for b in bookings} | {2000 + t} if rng.random() < 0.5 else {b.work_order_id for b in bookings},
                bookings=bookings,
                scopes=rng.choice([[], [(1, "")], [(None, "Shanghai")], [(2, "Beijing"), (1, "")]]),
                home=(31 + rng.random(), 121 + rng.random()),
            )
        )
    # What each service type needs (the same for every order of that type).
    needs = {t: {s: (rng.randrange(1, 5), f"S{s}") for s in range(3) if rng.random() < 0.3} for t in (1, 2)}
    orders = []
    for i in range(rng.randrange(1, 9)):
        window = None
        if rng.random() < 0.6:
            start = at(day, rng.randrange(6, 20))
            window = (start, start + dt.timedelta(hours=rng.randrange(1, 3)))
        orders.append(
            OrderFacts(
                id=i + 1,
                number=f"WO-{i}",
                service_type_id=(service_type := rng.choice([1, 2])),
                required=needs[service_type],
                city=rng.choice(["Shanghai", "Beijing", ""]),
                position=(31 + rng.random(), 121 + rng.random()) if rng.random() < 0.8 else None,
                priority=rng.randrange(1, 5),
                window=window,
            )
        )
    return techs, orders


@pytest.mark.parametrize("seed", range(40))
def test_the_solver_matrix_says_exactly_what_the_one_pair_rules_say(seed):
    rng = random.Random(seed)
    techs, orders = _random_facts(rng)
    now = timezone.now()
    capacity = rng.choice([1, 2, 3])
    weights = Weights()
    ok = rules.eligibility_matrix(techs, orders, now=now, capacity=capacity)
    cost = pair_cost_matrix(techs, orders, now=now, weights=weights)
    for i, order in enumerate(orders):
        for j, tech in enumerate(techs):
            reasons = rules.exclusion_reasons(tech, order, now=now, capacity=capacity)
            assert ok[i, j] == (not reasons), (i, j, reasons)
            parts = pair_parts(tech, order, open_jobs=0, now=now, weights=weights)
            assert cost[i, j] == pytest.approx(parts["score"], abs=0.01)
    assert isinstance(ok, np.ndarray)
