from django.core.management.base import BaseCommand

from triage.services import triage_train


class Command(BaseCommand):
    help = "Learn a new triage model version from the closed orders now (the beat task does it daily)."

    def handle(self, *args, **options):
        row = triage_train()
        if row.usable:
            self.stdout.write(f"v{row.version}: {row.samples} orders, {row.held_out} held out, "
                              f"top-1 {row.accuracy:.1%}, top-3 {row.accuracy_top3:.1%}")
        else:
            self.stdout.write(f"v{row.version}: not usable: {row.note}")
