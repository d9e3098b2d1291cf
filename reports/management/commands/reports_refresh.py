"""``manage.py reports_refresh``: bring the reports' summary rows up to date.

Without arguments: the orders of every event written since the last refresh (what
the periodic task does). ``--all``: rebuild every row. ``--ids 1,2,3``: those orders.
"""

from django.core.management.base import BaseCommand, CommandError

from reports.facts import facts_rebuild, facts_refresh, facts_sweep


class Command(BaseCommand):
    help = "Refresh the reports' per-order figures."

    def add_arguments(self, parser):
        parser.add_argument("--all", action="store_true", help="rebuild the figures of every work order")
        parser.add_argument("--ids", default="", help="comma-separated work order ids")

    def handle(self, *args, **options):
        if options["ids"]:
            try:
                ids = [int(x) for x in options["ids"].split(",") if x.strip()]
            except ValueError:
                raise CommandError("--ids takes comma-separated numbers") from None
            count = facts_refresh(work_order_ids=ids)
        elif options["all"]:
            def progress(done, total):
                self.stdout.write(f"  {done}/{total}", ending="\r")

            count = facts_rebuild(progress=progress if options["verbosity"] > 1 else None)
        else:
            count = 0
            while True:
                n = facts_sweep()
                count += n
                if not n:
                    break
        self.stdout.write(f"Refreshed the figures of {count} work order(s).")
