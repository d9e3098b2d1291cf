"""The reports' summary table: one row per work order, with its measured intervals.

The dashboard aggregates these rows in PostgreSQL. They exist because two things
cannot be computed cheaply from the raw tables for a million orders at page time:
the business-time length of each interval (it needs the SLA calendar, which is
Python code in ``sla/calendar.py``) and the milestones buried in the event log
(first accept, first arrival, first completion, a reopen). ``reports/facts.py``
derives each row from the raw data and keeps it current; see docs/reports.md.
"""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from workorders.lifecycle import OPEN_STATES


class WorkOrderFact(models.Model):
    work_order = models.OneToOneField(
        "workorders.WorkOrder", on_delete=models.CASCADE, primary_key=True, related_name="report_fact"
    )
    # Dimensions: when (local creation day), what, who.
    created_at = models.DateTimeField()
    created_day = models.DateField()
    status = models.CharField(max_length=16)
    priority = models.PositiveSmallIntegerField()
    service_type_id = models.BigIntegerField()
    # The technician the order counts for: who resolved it first, else who has it now.
    technician_id = models.BigIntegerField(null=True)
    # Whose calendar the appointment window is booked in (the order's technician now).
    booked_technician_id = models.BigIntegerField(null=True)
    appointment_start = models.DateTimeField(null=True)
    appointment_end = models.DateTimeField(null=True)
    booked_s = models.IntegerField(null=True)  # the window's length in seconds

    # First run of the clock, from creation: first response (accept), arrival, resolution.
    first_response_at = models.DateTimeField(null=True)
    arrived_at = models.DateTimeField(null=True)
    resolved_at = models.DateTimeField(null=True)
    # Wall-clock seconds from creation to each milestone.
    first_response_clock_s = models.IntegerField(null=True)
    arrival_clock_s = models.IntegerField(null=True)
    resolution_clock_s = models.IntegerField(null=True)
    # Business seconds (the SLA policy's calendar, time on hold left out).
    first_response_business_s = models.IntegerField(null=True)
    arrival_business_s = models.IntegerField(null=True)
    resolution_business_s = models.IntegerField(null=True)
    # SLA per target: the deadline (while the target runs or once met) and whether it was met.
    first_response_due = models.DateTimeField(null=True)
    arrival_due = models.DateTimeField(null=True)
    resolution_due = models.DateTimeField(null=True)
    first_response_met = models.BooleanField(null=True)
    arrival_met = models.BooleanField(null=True)
    resolution_met = models.BooleanField(null=True)

    # Quality: a completion that asked for a second visit; a reopen within the window.
    second_visit = models.BooleanField(default=False)
    reopened = models.BooleanField(default=False)
    # Resolved on the first visit and not reopened in time (NULL: not resolved yet).
    first_time_fix = models.BooleanField(null=True)
    # The latest answered survey.
    satisfaction = models.PositiveSmallIntegerField(null=True)
    recommend = models.PositiveSmallIntegerField(null=True)

    # Money, summed over the order's completion reports (NULL: none yet): what the customer is
    # charged after contract and warranty cover, and what the job cost (selectors.costs).
    customer_id = models.BigIntegerField(null=True)
    revenue = models.DecimalField(max_digits=12, decimal_places=2, null=True)
    parts_cost = models.DecimalField(max_digits=12, decimal_places=2, null=True)
    labour_cost = models.DecimalField(max_digits=12, decimal_places=2, null=True)
    travel_cost = models.DecimalField(max_digits=12, decimal_places=2, null=True)

    # Repeat visits (selectors.repeat_visits): the order's equipment, and whether the order is a
    # repeat failure (workorders.history: created within REPEAT_FAILURE_DAYS of another order on
    # the same equipment being resolved). NULL on an order with equipment: not worked out yet (a
    # new order's row, written with the order; the next refresh fills it in), so the dashboard
    # tests that order itself. A refresh of an order also sets the flag of the later orders on
    # its equipment, whose answer depends on when (and whether) it was resolved (facts.py).
    equipment = models.ForeignKey(
        "customers.Equipment", on_delete=models.DO_NOTHING, null=True, related_name="+", db_constraint=False,
        db_index=False,
    )
    repeat_failure = models.BooleanField(null=True)

    # The newest event of the order this row was built from: a refresh that read older
    # data never overwrites a newer one (facts.py, the upsert's WHERE).
    source_event_id = models.BigIntegerField(default=0)
    refreshed_at = models.DateTimeField()

    class Meta:
        verbose_name = _("work-order figures")
        verbose_name_plural = _("work-order figures")
        indexes = [
            # Every dashboard query: WHERE created_day BETWEEN from AND to (rows follow creation
            # order). Volume per day and status and the leaderboard's jobs read the index alone.
            models.Index(
                fields=["created_day"], name="report_fact_day",
                include=["status", "service_type_id", "technician_id", "first_time_fix", "satisfaction"],
            ),
            # One technician's orders (the technician filter).
            models.Index(fields=["technician_id", "created_day"], name="report_fact_tech_day"),
            # Backlog by age: the open orders only, read from the index alone (selectors.backlog).
            models.Index(
                fields=["created_at"], name="report_fact_open_age", condition=Q(status__in=sorted(OPEN_STATES)),
                include=["status", "service_type_id", "technician_id"],
            ),
            # Utilisation: booked windows overlapping the range, read from the index alone
            # (selectors.leaderboard, CTE "booked").
            models.Index(
                fields=["appointment_start"], name="report_fact_booked",
                condition=Q(appointment_start__isnull=False),
                include=["appointment_end", "booked_s", "booked_technician_id", "status", "service_type_id"],
            ),
            # Repeat visits: the cohort's orders on a piece of equipment, from the index alone.
            models.Index(
                fields=["created_day"], name="report_fact_repeat", condition=Q(equipment__isnull=False),
                include=["service_type_id", "technician_id", "equipment_id", "repeat_failure"],
            ),
        ] + [
            # The 90th percentiles walk these from the top (selectors._p90s), filtering on the
            # included columns without visiting the table.
            models.Index(
                fields=[f"{target}_{kind}_s"], name=f"report_fact_p90_{short}_{kind}",
                condition=Q(**{f"{target}_{kind}_s__isnull": False}),
                include=["created_day", "service_type_id", "technician_id"],
            )
            for target, short in (("first_response", "fr"), ("arrival", "arr"), ("resolution", "res"))
            for kind in ("clock", "business")
        ]

    def __str__(self):
        return f"figures of work order {self.work_order_id}"


class RefreshState(models.Model):
    """Where the periodic refresh got to in the event log (one row, name="facts")."""

    name = models.CharField(max_length=40, primary_key=True)
    # Every event up to here has been read twice, a sweep apart (facts.facts_sweep).
    done_event_id = models.BigIntegerField(default=0)
    # The newest event the last sweep read once.
    seen_event_id = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("report refresh state")
        verbose_name_plural = _("report refresh states")

    def __str__(self):
        return f"{self.name}: {self.done_event_id}"


class DayRollup(models.Model):
    """The summary rows added up per creation day and status, in two grains (reports/rollup.py).

    - ``grain`` 0 (``BY_TYPE``): per day, status and service type (``technician_id`` 0);
    - ``grain`` 1 (``BY_TECHNICIAN``): per day, status and technician (0: nobody has the order;
      ``service_type_id`` 0).

    A trigger on ``WorkOrderFact`` keeps the rows of each key adding up to the sums of the summary
    rows it covers, in the transaction that writes them (migration 0005). Each measure is a count or a sum, so
    averages and rates are exact: sum ÷ count, as ``avg`` computes them. The dashboard reads these
    instead of the ~3,000 summary rows a day (reports.selectors, docs/reports.md "Day rollups")."""

    BY_TYPE = 0
    BY_TECHNICIAN = 1

    grain = models.PositiveSmallIntegerField()
    created_day = models.DateField()
    status = models.CharField(max_length=16)
    service_type_id = models.BigIntegerField(default=0)
    technician_id = models.BigIntegerField(default=0)

    orders = models.BigIntegerField(default=0)
    first_response_clock_n = models.BigIntegerField(default=0)
    first_response_clock_sum = models.BigIntegerField(default=0)
    first_response_business_n = models.BigIntegerField(default=0)
    first_response_business_sum = models.BigIntegerField(default=0)
    arrival_clock_n = models.BigIntegerField(default=0)
    arrival_clock_sum = models.BigIntegerField(default=0)
    arrival_business_n = models.BigIntegerField(default=0)
    arrival_business_sum = models.BigIntegerField(default=0)
    resolution_clock_n = models.BigIntegerField(default=0)
    resolution_clock_sum = models.BigIntegerField(default=0)
    resolution_business_n = models.BigIntegerField(default=0)
    resolution_business_sum = models.BigIntegerField(default=0)
    # per SLA target: met, and met late (the misses of orders still open are counted from the rows)
    first_response_met = models.BigIntegerField(default=0)
    first_response_late = models.BigIntegerField(default=0)
    arrival_met = models.BigIntegerField(default=0)
    arrival_late = models.BigIntegerField(default=0)
    resolution_met = models.BigIntegerField(default=0)
    resolution_late = models.BigIntegerField(default=0)
    resolved = models.BigIntegerField(default=0)
    first_time_fixed = models.BigIntegerField(default=0)
    second_visits = models.BigIntegerField(default=0)
    reopened = models.BigIntegerField(default=0)
    answers = models.BigIntegerField(default=0)
    satisfaction_sum = models.BigIntegerField(default=0)
    recommend_answers = models.BigIntegerField(default=0)
    promoters = models.BigIntegerField(default=0)
    passives = models.BigIntegerField(default=0)
    detractors = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = _("day rollup of work-order figures")
        verbose_name_plural = _("day rollups of work-order figures")
        # Not unique: a key may have several rows (deltas appended by the trigger) until the
        # sweep adds them up (rollup.compact).
        indexes = [models.Index(fields=["grain", "created_day"], name="report_rollup_day")]

    def __str__(self):
        return f"rollup {self.grain} {self.created_day} {self.status}"
