"""Fill business calendars with Mainland China's public holidays and make-up working days.

    manage.py sla_load_holidays                      # every calendar that is not 24x7, last year onwards
    manage.py sla_load_holidays --calendar cn-office --year 2026

Run it after upgrading the ``chinese-calendar`` package, which follows the State
Council's yearly schedule. Days entered by hand in admin are left alone.
"""

from django.core.management.base import BaseCommand, CommandError

from sla.models import BusinessCalendar
from sla.services import calendar_load_official_days


class Command(BaseCommand):
    help = "Load Mainland China's official holidays and make-up working days into business calendars."

    def add_arguments(self, parser):
        parser.add_argument("--calendar", action="append", help="calendar code (repeatable); default: all")
        parser.add_argument("--year", type=int, action="append", help="year (repeatable); default: last year on")

    def handle(self, *args, calendar=None, year=None, **options):
        calendars = BusinessCalendar.objects.filter(always_open=False)
        if calendar:
            calendars = calendars.filter(code__in=calendar)
            missing = set(calendar) - set(calendars.values_list("code", flat=True))
            if missing:
                raise CommandError(f"no such calendar: {', '.join(sorted(missing))}")
        try:
            import chinese_calendar  # noqa: F401
        except ImportError as exc:
            raise CommandError("the chinese-calendar package is not installed") from exc
        for cal in calendars:
            holidays, workdays = calendar_load_official_days(calendar=cal, years=year)
            self.stdout.write(f"{cal.code}: {holidays} holidays, {workdays} make-up working days")
