"""The work-order event log refuses UPDATE and DELETE.

The audit trail is the record managers rely on ("who did what, at which step"),
so the database itself keeps it append-only, whatever code runs against it.
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION workorders_event_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'work-order events are append-only (% refused)', TG_OP;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER workorders_event_append_only
    BEFORE UPDATE OR DELETE ON workorders_workorderevent
    FOR EACH ROW EXECUTE FUNCTION workorders_event_append_only();
"""
DROP = """
DROP TRIGGER IF EXISTS workorders_event_append_only ON workorders_workorderevent;
DROP FUNCTION IF EXISTS workorders_event_append_only();
"""


class Migration(migrations.Migration):
    dependencies = [("workorders", "0001_initial")]
    operations = [migrations.RunSQL(CREATE, DROP)]
