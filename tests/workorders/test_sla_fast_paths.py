"""The shortcuts list pages take through the SLA arithmetic give the same answers as the
long way: early stop in Calendar.between, spans kept per day, labels and duration
formats translated once per language."""

import random
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import translation

from tests.factories import BusinessCalendarFactory
from workorders.sla import Calendar, TargetState, calendar_load_official_days, target_states_html, target_states_json

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
