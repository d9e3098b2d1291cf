"""An index the dashboard's summary query reads alone (reports.selectors.summary).

The summary aggregates about twenty columns over the cohort (WHERE created_day BETWEEN
...). Through ``report_fact_day`` PostgreSQL fetches each of those rows from the table,
a quarter of a million random heap visits for a 90-day range over a million orders,
which was about half of that query's time. This index carries exactly the columns the
summary reads (and the filters' columns), so the query becomes an index-only scan over
neighbouring index pages (the table vacuums itself often, migration 0001, so its pages
stay all-visible).

Created in SQL rather than in ``WorkOrderFact.Meta.indexes``: it
serves one query's plan and carries no meaning for the model.
"""

from django.db import migrations

NAME = "report_fact_summary"
CREATE = f"""
CREATE INDEX IF NOT EXISTS {NAME} ON reports_workorderfact (created_day) INCLUDE (
    service_type_id, technician_id,
    first_response_clock_s, first_response_business_s, first_response_met, first_response_due,
    arrival_clock_s, arrival_business_s, arrival_met, arrival_due,
    resolution_clock_s, resolution_business_s, resolution_met, resolution_due,
    first_time_fix, second_visit, reopened, satisfaction, recommend
)
"""


class Migration(migrations.Migration):

    dependencies = [
        ("reports", "0001_initial"),
    ]

    operations = [
        migrations.RunSQL(CREATE, f"DROP INDEX IF EXISTS {NAME}"),
    ]
