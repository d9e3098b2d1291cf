"""One technician's active appointments never overlap.

Two dispatchers (or a dispatcher and automatic assignment) booking one
technician into overlapping windows at the same moment: the database refuses
the second booking even if both passed the service's own check.
"""

from django.db import migrations

ACTIVE = "('assigned', 'accepted', 'en_route', 'in_progress', 'on_hold')"
CREATE = f"""
CREATE EXTENSION IF NOT EXISTS btree_gist;
ALTER TABLE workorders_workorder ADD CONSTRAINT wo_no_double_booking
    EXCLUDE USING gist (
        technician_id WITH =,
        tstzrange(appointment_start, appointment_end, '[)') WITH &&
    )
    WHERE (technician_id IS NOT NULL AND appointment_start IS NOT NULL
           AND appointment_end IS NOT NULL AND status IN {ACTIVE});
"""
DROP = "ALTER TABLE workorders_workorder DROP CONSTRAINT IF EXISTS wo_no_double_booking;"


class Migration(migrations.Migration):
    dependencies = [("workorders", "0002_event_append_only")]
    operations = [migrations.RunSQL(CREATE, DROP)]
