"""Compare the search approaches on the labelled set and print the tables.

    python manage.py kb_search_eval [--misses]

The labelled articles are created inside a transaction that is rolled back,
so the database is left as it was.
"""

from django.core.management.base import BaseCommand
from django.db import transaction

from knowledge import search
from knowledge.eval_data import ARTICLES, QUERIES, QUERIES_HELDOUT
from knowledge.evaluation import evaluate, load_articles


class _Rollback(Exception):
    pass


def _chinese(queries) -> int:
    return sum(1 for q, _ in queries if any("\u4e00" <= c <= "\u9fff" for c in q))


class Command(BaseCommand):
    help = "Measure each search approach on the labelled set (share of queries answered in the top 3)."

    def add_arguments(self, parser):
        parser.add_argument("--misses", action="store_true", help="List the queries each approach misses.")

    def handle(self, *args, misses=False, **options):
        sets = [("labelled set", QUERIES), ("held-out queries", QUERIES_HELDOUT)]
        results: dict[str, list] = {name: [] for name, _ in sets}
        try:
            with transaction.atomic():
                by_key = load_articles()
                for name, queries in sets:
                    for approach in search.APPROACHES:
                        evaluate(approach, by_key, queries=queries)  # warm up (jieba dictionary, plans)
                        results[name].append(evaluate(approach, by_key, queries=queries))
                raise _Rollback
        except _Rollback:
            pass

        for name, queries in sets:
            self.stdout.write(
                f"\n{name}: {len(ARTICLES)} articles, {len(queries)} queries "
                f"({_chinese(queries)} Chinese, {len(queries) - _chinese(queries)} English)\n"
            )
            self.stdout.write("| approach | top-3 | top-1 | MRR | median ms | chosen |")
            self.stdout.write("|---|---|---|---|---|---|")
            for r in results[name]:
                timings = sorted(r.timings_ms)
                median = timings[len(timings) // 2]
                chosen = "yes" if r.approach == search.CHOSEN else ""
                self.stdout.write(
                    f"| {r.approach} | {r.top3}/{r.queries} ({r.top3_share:.0%}) "
                    f"| {r.top1}/{r.queries} ({r.top1_share:.0%}) | {r.mrr:.2f} | {median:.1f} | {chosen} |"
                )
        if misses:
            for name, _ in sets:
                for r in results[name]:
                    self.stdout.write(f"\n{name}, {r.approach}: not in the top 3")
                    for q, expected, got in r.misses:
                        self.stdout.write(f"  {q!r}: expected {expected}, got {got}")
