"""Business-time arithmetic: a business calendar in memory (working hours per weekday,
holidays, make-up working days), adding business seconds to a moment and counting them
between two moments. No database access except ``Calendar.from_model``.
"""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from .models import BusinessCalendar, CalendarDay

MIDNIGHT = time(0, 0)
# Far enough for any sane target; a calendar with no working time at all fails loudly.
MAX_DAYS = 3 * 366


class NoWorkingTime(ValueError):
    pass


class Calendar:
    """A business calendar in memory, so the arithmetic needs no database.

    ``weekly`` maps a weekday (0 = Monday) to its working spans ``[(start, end), ...]``
    (an end of 00:00 means midnight at the end of the day). ``days`` maps a date that
    differs from the usual week to its spans: ``[]`` for a holiday, the spans of a
    make-up working day otherwise.
    """

    def __init__(self, *, tz="Asia/Shanghai", always_open=False, weekly=None, days=None):
        self.tz = ZoneInfo(tz) if isinstance(tz, str) else tz
        self.always_open = always_open
        self.weekly = {wd: sorted(spans) for wd, spans in (weekly or {}).items() if spans}
        self.days = {d: sorted(spans) for d, spans in (days or {}).items()}
        self._spans: dict[date, list] = {}  # spans() by day: a page of clocks asks for the same days

    @classmethod
    def from_model(cls, calendar: BusinessCalendar, *, since: date | None = None) -> "Calendar":
        """Load a calendar's hours and exception days (two queries; none for a 24×7 calendar)."""
        if calendar.always_open:
            return cls(tz=calendar.time_zone, always_open=True)
        weekly: dict[int, list] = {}
        for wd, start, end in calendar.hours.values_list("weekday", "start", "end"):
            weekly.setdefault(wd, []).append((start, end))
        standard = next((weekly[wd] for wd in range(7) if weekly.get(wd)), [])
        days_qs = CalendarDay.objects.filter(calendar=calendar)
        if since is not None:
            days_qs = days_qs.filter(date__gte=since)
        days = {}
        for day, kind, start, end in days_qs.values_list("date", "kind", "start", "end"):
            if kind == CalendarDay.Kind.HOLIDAY:
                days[day] = []
            else:
                days[day] = [(start, end)] if start is not None else list(standard)
        return cls(tz=calendar.time_zone, weekly=weekly, days=days)

    def hours_on(self, day: date) -> list[tuple[time, time]]:
        if day in self.days:
            return self.days[day]
        return self.weekly.get(day.weekday(), [])

    def spans(self, day: date) -> list[tuple[datetime, datetime]]:
        """The working spans of one local day, as aware UTC datetimes (kept: read, never change)."""
        out = self._spans.get(day)
        if out is not None:
            return out
        out = []
        for start, end in self.hours_on(day):
            s = datetime.combine(day, start, tzinfo=self.tz)
            e = datetime.combine(day + timedelta(days=1) if end == MIDNIGHT else day, end, tzinfo=self.tz)
            out.append((s.astimezone(UTC), e.astimezone(UTC)))
        if len(self._spans) >= 10_000:
            self._spans = {}
        self._spans[day] = out
        return out

    def add(self, start: datetime, seconds: float) -> datetime:
        """The moment ``seconds`` of business time after ``start``."""
        start = start.astimezone(UTC)
        if self.always_open or seconds <= 0:
            return start + timedelta(seconds=seconds) if seconds > 0 else start
        remaining = float(seconds)
        day = start.astimezone(self.tz).date() - timedelta(days=1)  # a span may start the day before (night shift)
        for _i in range(MAX_DAYS):
            for s, e in self.spans(day):
                if e <= start:
                    continue
                s = max(s, start)
                available = (e - s).total_seconds()
                if remaining <= available:
                    return s + timedelta(seconds=remaining)
                remaining -= available
            day += timedelta(days=1)
        raise NoWorkingTime("the calendar has no working time in the next three years")

    def between(self, start: datetime, end: datetime, *, stop_above: float | None = None) -> int:
        """Business seconds in [start, end) (0 if end is not after start).

        With ``stop_above``, counting stops as soon as the answer is known to be more than
        that: the result is then some number above ``stop_above`` (not the full count).
        """
        start, end = start.astimezone(UTC), end.astimezone(UTC)
        if end <= start:
            return 0
        if self.always_open:
            return int((end - start).total_seconds())
        enough = None if stop_above is None else stop_above + 1
        total = 0.0
        day = start.astimezone(self.tz).date() - timedelta(days=1)
        last = end.astimezone(self.tz).date()
        while day <= last:
            for s, e in self.spans(day):
                lo, hi = max(s, start), min(e, end)
                if hi > lo:
                    total += (hi - lo).total_seconds()
                    if enough is not None and total >= enough:
                        return int(total)
            day += timedelta(days=1)
        return int(total)
