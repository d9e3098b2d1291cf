"""Top-1/top-3 accuracy per service type and the prediction time of the triage model.

    .venv/bin/python manage.py triage_bench                       # labelled set and demo data
    .venv/bin/python manage.py triage_bench --labelled other.csv  # another labelled file

Three evaluations:

- the labelled set (``tests/data/triage_labelled.csv``: description, service type code, priority),
  5-fold: each fifth is predicted by a model learned from the other four fifths;
- the demo data: this database's closed orders, with the held-out share ``TRIAGE_HELD_OUT``
  (the split ``triage_train`` makes);
- the model learned from the demo data predicting the labelled set (how far the demo's
  descriptions carry to new wording).

Prediction time: the mean over every prediction made, after a warm-up (jieba's dictionary).
"""

import csv
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from triage import learning
from triage.selectors import training_rows

DEFAULT = Path(settings.BASE_DIR) / "tests" / "data" / "triage_labelled.csv"


def read_labelled(path) -> list[tuple]:
    with open(path, encoding="utf-8", newline="") as handle:
        return [(row["description"], row["service_type"], int(row["priority"])) for row in csv.DictReader(handle)]


def folds(rows: list[tuple], k: int = 5) -> dict:
    """``learning.evaluate`` over ``k`` stratified folds, merged."""
    by_type: dict = {}
    for index, row in enumerate(rows):
        by_type.setdefault(row[1], []).append(index)
    fold_of = {}
    for indexes in by_type.values():
        for position, index in enumerate(indexes):
            fold_of[index] = position % k
    merged = {"n": 0, "top1": 0.0, "top3": 0.0, "priority_top1": 0.0, "ms": 0.0, "classes": {}}
    for fold in range(k):
        train = [row for i, row in enumerate(rows) if fold_of[i] != fold]
        test = [row for i, row in enumerate(rows) if fold_of[i] == fold]
        result = learning.evaluate(learning._fit(train), test)
        n = result["n"]
        merged["n"] += n
        for key in ("top1", "top3", "priority_top1"):
            merged[key] += result[key] * n
        merged["ms"] += result["ms_per_prediction"] * n
        for label, stats in result["classes"].items():
            into = merged["classes"].setdefault(label, {"n": 0, "top1": 0.0, "top3": 0.0})
            into["n"] += stats["n"]
            into["top1"] += stats["top1"] * stats["n"]
            into["top3"] += stats["top3"] * stats["n"]
    total = merged["n"] or 1
    return {
        "n": merged["n"],
        "top1": merged["top1"] / total,
        "top3": merged["top3"] / total,
        "priority_top1": merged["priority_top1"] / total,
        "ms_per_prediction": merged["ms"] / total,
        "classes": {label: {"n": s["n"], "top1": s["top1"] / s["n"], "top3": s["top3"] / s["n"]}
                    for label, s in sorted(merged["classes"].items())},
    }


class Command(BaseCommand):
    help = "Print the triage model's top-1/top-3 accuracy per service type and its prediction time."

    def add_arguments(self, parser):
        parser.add_argument("--labelled", default=str(DEFAULT), help="CSV: description,service_type,priority")

    def table(self, title: str, result: dict) -> None:
        self.stdout.write(f"\n{title}  (n={result['n']})")
        self.stdout.write(f"  {'service type':<22}{'n':>5}{'top-1':>8}{'top-3':>8}")
        for label, stats in result["classes"].items():
            self.stdout.write(f"  {label:<22}{stats['n']:>5}{stats['top1']:>8.1%}{stats['top3']:>8.1%}")
        self.stdout.write(f"  {'all':<22}{result['n']:>5}{result['top1']:>8.1%}{result['top3']:>8.1%}")
        self.stdout.write(f"  priority top-1: {result['priority_top1']:.1%}; "
                          f"prediction: {result['ms_per_prediction']:.3f} ms each (service type and priority)")

    def handle(self, *args, **options):
        labelled = read_labelled(options["labelled"])
        learning.tokens("空调不制冷 warm-up")  # jieba loads its dictionary once per process
        self.table(f"Labelled set {options['labelled']}, 5-fold", folds(labelled))

        demo = training_rows()
        if len(demo) < settings.TRIAGE_MIN_SAMPLES:
            self.stdout.write(f"\nDemo data: {len(demo)} closed orders, fewer than TRIAGE_MIN_SAMPLES "
                              f"({settings.TRIAGE_MIN_SAMPLES}); run manage.py seed_demo first.")
            return
        started = time.perf_counter()
        fitted = learning.fit(demo, held_out=settings.TRIAGE_HELD_OUT)
        seconds = time.perf_counter() - started
        self.table(f"Demo data: {len(demo)} closed orders, {settings.TRIAGE_HELD_OUT:.0%} held out "
                   f"(training took {seconds:.1f} s)", fitted.evaluation)
        self.table("Model learned from the demo data, predicting the labelled set",
                   learning.evaluate(fitted, labelled))

        # One prediction at a time, as a page or the API asks for it.
        texts = [row[0] for row in labelled]
        started = time.perf_counter()
        for text in texts:
            learning.predict(fitted, text)
        per = (time.perf_counter() - started) * 1000 / len(texts)
        self.stdout.write(f"\nPrediction time (demo model, {len(texts)} single predictions): {per:.3f} ms each")
