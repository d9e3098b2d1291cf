"""Writing SLA reference data: official holidays and make-up working days; warning of missing ones."""

import logging

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from .models import BusinessCalendar, CalendarDay
from .selectors import REFDATA, calendar_gaps

log = logging.getLogger(__name__)

CN_HOLIDAY_NAMES = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "Mid-autumn Festival": "中秋节",
    "National Day": "国庆节",
    "Anti-Fascist 70th Day": "抗战胜利纪念日",
}


def calendar_load_official_days(*, calendar: BusinessCalendar, years=None) -> tuple[int, int]:
    """Fill a calendar with Mainland China's public holidays and make-up working days.

    From the ``chinese_calendar`` package (updated every year after the State
    Council publishes the next year's schedule). Days entered by hand are kept.
    Years: those given, else last year onwards. Returns (holidays, working days) written.
    """
    import chinese_calendar

    wanted = set(years) if years else None
    if wanted is None:
        first = timezone.localdate().year - 1
        wanted = {d.year for d in chinese_calendar.holidays if d.year >= first}
    manual = set(
        CalendarDay.objects.filter(calendar=calendar, source=CalendarDay.Source.MANUAL).values_list("date", flat=True)
    )
    counts = [0, 0]
    with transaction.atomic():
        for source, kind, idx in (
            (chinese_calendar.holidays, CalendarDay.Kind.HOLIDAY, 0),
            (chinese_calendar.workdays, CalendarDay.Kind.WORKDAY, 1),
        ):
            for day, name in sorted(source.items()):
                if (wanted and day.year not in wanted) or day in manual:
                    continue
                label = str(getattr(name, "value", name) or "")
                label = f"{CN_HOLIDAY_NAMES.get(label, '')} {label}".strip()
                CalendarDay.objects.update_or_create(
                    calendar=calendar, date=day,
                    defaults={"kind": kind, "name": label[:80], "start": None, "end": None,
                              "source": CalendarDay.Source.CN_OFFICIAL},
                )
                counts[idx] += 1
        BusinessCalendar.objects.filter(pk=calendar.pk).update(updated_at=timezone.now())
    REFDATA.bump()  # the update() above sends no signal
    return counts[0], counts[1]


def calendar_gaps_warn(*, today=None) -> list[tuple[str, list[int]]]:
    """Log a warning, at most once a day across every worker, for each calendar in use that has
    no holidays for a year the coming days reach (``selectors.calendar_gaps``). Returns the gaps."""
    gaps = calendar_gaps(today)
    if gaps and cache.add(f"sla:calendar-gaps-warned:{today or timezone.localdate()}", 1, 26 * 3600):
        for name, years in gaps:
            log.warning(
                "business calendar %r has no holidays for %s: SLA clocks count those days as working days; "
                "load them with `manage.py sla_load_holidays` or in admin", name, ", ".join(map(str, years)),
            )
    return gaps
