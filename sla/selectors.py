"""The SLA policies, calendars and escalation levels as each process keeps them, and the
policy that applies to an order with a given priority, customer tier and service type."""

from core.refcache import VersionedCache

from .calendar import Calendar
from .models import EscalationLevel, SlaPolicy

# Policies, calendars and escalation levels are read by every creation and every
# page that shows a clock, and change a few times a year: each process keeps them
# (core/refcache.py), and any save or delete of one of these models, in any worker,
# drops every process's copy within a second (the receivers in ``SlaConfig.ready()``).
REFDATA = VersionedCache("sla")


def _policies_by_id() -> dict[int, SlaPolicy]:
    return REFDATA.get(
        "policies", lambda: {p.pk: p for p in SlaPolicy.objects.select_related("calendar").order_by("pk")}
    )


def _active_policies() -> list[SlaPolicy]:
    return REFDATA.get("active", lambda: [p for p in _policies_by_id().values() if p.active])


def policy_for(
    *, priority: int, customer_tier: str, service_type_id: int | None, contract_policy_id: int | None = None
) -> SlaPolicy | None:
    """The policy of the contract covering the order (``contract_policy_id``) when it is active,
    else the most specific active policy matching the order, else the default policy, else None.

    Specificity: a service type counts most, then the customer tier, then the priority;
    ties go to the older policy.
    """
    if contract_policy_id is not None:
        contracted = _policies_by_id().get(contract_policy_id)
        if contracted is not None and contracted.active:
            return contracted
    best, best_key = None, None
    for policy in _active_policies():
        if policy.is_default:
            key = (-1, 0)
        elif (
            (policy.priority is None or policy.priority == priority)
            and (not policy.customer_tier or policy.customer_tier == customer_tier)
            and (policy.service_type_id is None or policy.service_type_id == service_type_id)
        ):
            key = (4 * (policy.service_type_id is not None) + 2 * bool(policy.customer_tier)
                   + (policy.priority is not None), -policy.pk)
        else:
            continue
        if best_key is None or key > best_key:
            best, best_key = policy, key
    return best


class SlaCache:
    """Policies, calendars and levels for one sweep or page (drawn from the process's copy)."""

    def __init__(self):
        self.policies: dict[int, SlaPolicy | None] = {}
        self.calendars: dict[int, Calendar] = {}  # by calendar id, for this sweep or page

    def policy(self, policy_id):
        if policy_id is None:
            return None
        if policy_id in self.policies:
            return self.policies[policy_id]
        found = _policies_by_id().get(policy_id)
        if found is None:
            # Created a moment ago in another process, before the change reached this
            # one's copy: read again rather than treat the order as having no SLA (the
            # sweep would take it out of its index, and it would never escalate).
            REFDATA.clear_local()
            found = _policies_by_id().get(policy_id)
        self.policies[policy_id] = found
        return found

    def preload_policies(self, ids):
        """Kept for callers: every policy is loaded at once (there are a handful)."""

    def calendar(self, policy: SlaPolicy) -> Calendar:
        calendar = self.calendars.get(policy.calendar_id)
        if calendar is None:
            calendar = self.calendars[policy.calendar_id] = REFDATA.get(
                ("calendar", policy.calendar_id), lambda: Calendar.from_model(policy.calendar)
            )
        return calendar

    def levels_for(self, policy: SlaPolicy) -> list[EscalationLevel]:
        mid = policy.escalation_matrix_id
        if mid is None:
            return []
        return REFDATA.get(
            ("levels", mid), lambda: list(EscalationLevel.objects.filter(matrix_id=mid).order_by("percent", "id"))
        )


def calendar_gaps(today=None) -> list[tuple[str, list[int]]]:
    """Business calendars in use whose holidays do not cover a year the coming days reach.

    A calendar is in use when an active SLA policy clocks on it (24×7 calendars have no
    holidays to miss). A year is covered when the calendar holds at least one holiday in it:
    the official schedule for a year is published late in the year before, so a calendar
    without one for the next year is a calendar nobody has loaded yet, and every clock that
    crosses its holidays would count them as working days. The coming days are
    ``SLA_HOLIDAY_LOOKAHEAD_DAYS`` (60) from today. Returns ``[(calendar name, [missing
    years])]`` by name; kept per process for the day and dropped with any change of SLA data.
    """
    from datetime import timedelta

    from django.conf import settings
    from django.db.models import Exists, OuterRef
    from django.utils import timezone

    from .models import BusinessCalendar, CalendarDay

    today = today or timezone.localdate()
    last = today + timedelta(days=settings.SLA_HOLIDAY_LOOKAHEAD_DAYS)
    years = list(range(today.year, last.year + 1))

    def load():  # one query: the calendars in use, and for each coming year whether it has a holiday
        holidays = CalendarDay.objects.filter(calendar=OuterRef("pk"), kind=CalendarDay.Kind.HOLIDAY)
        rows = (
            BusinessCalendar.objects.filter(always_open=False)
            .filter(Exists(SlaPolicy.objects.filter(calendar=OuterRef("pk"), active=True, no_sla=False)))
            .annotate(**{f"y{year}": Exists(holidays.filter(date__year=year)) for year in years})
            .order_by("name")
            .values("name", *(f"y{year}" for year in years))
        )
        return [
            (row["name"], missing) for row in rows if (missing := [y for y in years if not row[f"y{y}"]])
        ]

    return REFDATA.get(("gaps", today, tuple(years)), load)
