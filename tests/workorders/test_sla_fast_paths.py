"""The shortcuts list pages take through the SLA arithmetic give the same answers as the
long way: early stop in Calendar.between, spans kept per day, labels and duration
formats translated once per language."""

import random
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import translation

from sla.calendar import Calendar
from sla.services import calendar_load_official_days
from tests.factories import BusinessCalendarFactory
from workorders.sla import TargetState, target_states_html, target_states_json

SH = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def office(db):
    """Mon-Fri 09:00-18:00 with Mainland China's 2025 holidays and make-up working days."""
    calendar = BusinessCalendarFactory(code="office")
    calendar_load_official_days(calendar=calendar, years=[2025])
    return calendar


def test_an_early_stop_gives_the_same_at_risk_answer_as_the_full_count(office):
    kept = Calendar.from_model(office)  # spans kept across calls, as on a list page
    rng = random.Random(20250916)
    base = datetime(2025, 9, 15, tzinfo=SH)
    for _ in range(400):
        start = base + timedelta(minutes=rng.randrange(0, 40 * 24 * 60))
        end = start + timedelta(minutes=rng.randrange(1, 12 * 24 * 60))
        limit = rng.choice([0, 59.5, 1800, 7200.25, 9 * 3600, 40 * 3600])
        fresh = Calendar.from_model(office)  # nothing kept
        full = fresh.between(start, end)
        assert kept.between(start, end) == full
        assert (kept.between(start, end, stop_above=limit) <= limit) == (full <= limit), (start, end, limit)


def test_labels_and_durations_follow_the_language_of_each_request():
    states = [
        TargetState("first_response", "on_track", datetime(2025, 9, 16, 12, tzinfo=SH), None, 90 * 60),
        TargetState("resolution", "breached", datetime(2025, 9, 16, 9, tzinfo=SH), None, -26 * 3600),
    ]

    def dt(value):
        return None if value is None else value.isoformat()

    with translation.override("en"):
        english_html = target_states_html(states)
        english = target_states_json(states, dt)
        assert states[0].duration_text == "1 h 30 min left"
    with translation.override("zh-hans"):
        chinese_html = target_states_html(states)
        chinese = target_states_json(states, dt)
        assert chinese[0]["state_label"] == str(translation.gettext("On track"))
        assert states[1].duration_text == translation.gettext("%(t)s over") % {
            "t": translation.gettext("%(d)d d %(h)d h") % {"d": 1, "h": 2}
        }
    assert english[0]["label"] != chinese[0]["label"]
    assert "On track" in english_html and "1 h 30 min left" in english_html
    assert "On track" not in chinese_html
    with translation.override("en"):
        assert target_states_html(states) == english_html  # the English copy was not overwritten


def _long_way_html(states):
    from html import escape

    return "".join(
        f'<span class="badge sla-{s.state}" title="{escape(str(s.label))}">{escape(str(s.label))}: '
        f"{escape(str(s.state_label))}"
        + ("" if s.state in ("met", "stopped") else f" · {escape(s.duration_text)}")
        + "</span> "
        for s in states
    )


def test_a_page_of_rows_gets_the_same_states_as_each_order_on_its_own(office):
    """target_states_rows counts the business time from now once per page; every state,
    deadline, number of seconds and badge is the same as target_states gives one order."""
    import datetime as dt

    from tests.factories import SlaPolicyFactory
    from workorders.lifecycle import Status
    from sla.models import SlaPolicy
    from sla.selectors import SlaCache
    from workorders.sla import SLA_STATE_FIELDS, _ValuesRow, target_states, target_states_html_rows
    from workorders.sla import target_states_json_rows, target_states_rows

    SlaPolicy.objects.all().delete()
    night = BusinessCalendarFactory(
        code="night", hours=[(wd, dt.time(22), dt.time(0)) for wd in range(7)]
        + [(wd, dt.time(0), dt.time(6)) for wd in range(7)] + [(2, dt.time(12), dt.time(13, 30))]
    )
    berlin = BusinessCalendarFactory(code="berlin", time_zone="Europe/Berlin")  # summer time ends 2025-10-26
    policies = [
        SlaPolicyFactory(calendar=office, first_response_minutes=120, arrival_minutes=480,
                         resolution_minutes=1620, at_risk_percent=75),
        SlaPolicyFactory(calendar=night, first_response_minutes=45, arrival_minutes=None,
                         resolution_minutes=3000, at_risk_percent=33),
        SlaPolicyFactory(calendar=berlin, first_response_minutes=61, arrival_minutes=600,
                         resolution_minutes=9000, at_risk_percent=90),
        SlaPolicyFactory(first_response_minutes=30, arrival_minutes=120, resolution_minutes=480),  # 24x7
        SlaPolicyFactory(no_sla=True, calendar=None),
    ]
    rng = random.Random(20250917)
    statuses = [choice for choice, _label in Status.choices]
    seen = set()
    for round_ in range(12):
        now = datetime(2025, 9, 20, tzinfo=SH) + timedelta(days=rng.randrange(0, 50), seconds=rng.randrange(86400),
                                                           microseconds=rng.randrange(10**6))
        rows = []
        for _ in range(60):
            policy = rng.choice([*policies, None])
            started = now - timedelta(minutes=rng.randrange(0, 6000), microseconds=rng.randrange(10**6))
            row = {"status": rng.choice(statuses), "sla_policy_id": policy.pk if policy else None,
                   "sla_started_at": None if rng.random() < 0.05 else started,
                   "sla_paused_at": started + timedelta(minutes=rng.randrange(1, 900)) if rng.random() < 0.15 else None,
                   "sla_paused_seconds": rng.choice([0, 0, 300, 4000])}
            for target in ("first_response", "arrival", "resolution"):
                offset = rng.choice([-1, 1]) * rng.randrange(0, 10 * 24 * 3600)
                due = now + timedelta(seconds=offset, microseconds=rng.choice([0, rng.randrange(10**6)]))
                if rng.random() < 0.3 and policy is not None and policy.calendar and not policy.no_sla:
                    # A deadline right at the at-risk limit of business time from now.
                    cal = Calendar.from_model(policy.calendar)
                    minutes = policy.target_minutes(target) or 60
                    limit = minutes * 60 * (100 - policy.at_risk_percent) / 100
                    due = cal.add(now, int(limit) + rng.choice([-1, 0, 1]))
                row[f"{target}_due"] = None if rng.random() < 0.1 else due
                row[f"{target}_met_at"] = due + timedelta(seconds=rng.randrange(-7200, 7200)) \
                    if rng.random() < 0.2 else None
            assert set(SLA_STATE_FIELDS) <= set(row)
            rows.append(row)

        fast = target_states_rows(rows, now=now)
        seen |= {s.state for states in fast for s in states}
        long_way = [target_states(_ValuesRow(row), now=now, _cache=SlaCache()) for row in rows]
        assert fast == long_way, round_

        def iso(value):
            return None if value is None else value.isoformat()

        for language in ("en", "zh-hans"):
            with translation.override(language):
                assert target_states_html_rows(fast) == [_long_way_html(states) for states in long_way]
                assert target_states_json_rows(fast, iso) == [target_states_json(s, iso) for s in long_way]
    assert seen == {"on_track", "at_risk", "breached", "met", "met_late", "paused", "stopped"}
