"""Measuring search approaches on the labelled set in ``eval_data``.

Used by ``manage.py kb_search_eval`` and by the search-quality test. The
articles are created through the service (so they are segmented and indexed
exactly as real ones) and the caller decides whether to keep them; the command
rolls them back.
"""

import time
from dataclasses import dataclass, field

from django.db import connection
from django.utils.text import slugify

from . import search
from .eval_data import ARTICLES, QUERIES
from .models import Article, Category
from .services import article_create


# As many as the suggestion box shows; the two-pass search decides on this many.
EVAL_LIMIT = 5


@dataclass
class Result:
    approach: str
    queries: int
    top1: int
    top3: int
    reciprocal_rank_sum: float
    misses: list = field(default_factory=list)
    timings_ms: list = field(default_factory=list)

    @property
    def top3_share(self) -> float:
        return self.top3 / self.queries

    @property
    def top1_share(self) -> float:
        return self.top1 / self.queries

    @property
    def mrr(self) -> float:
        return self.reciprocal_rank_sum / self.queries


def load_articles(*, actor=None) -> dict[str, Article]:
    """Create the labelled articles (published); returns them by key."""
    categories: dict[str, Category] = {}
    by_key: dict[str, Article] = {}
    for position, item in enumerate(ARTICLES):
        name = item["category"]
        if name not in categories:
            categories[name], _ = Category.objects.get_or_create(
                name=name, defaults={"slug": slugify(name, allow_unicode=True)[:80], "position": position}
            )
        by_key[item["key"]] = article_create(
            actor=actor,
            title=item["title"],
            summary=item.get("summary", ""),
            body=item["body"],
            audience=item.get("audience", "public"),
            category=categories[name],
            tags=item.get("tags", ()),
            equipment_models=item.get("equipment_models", ""),
            published=True,
        )
    # Term statistics as autovacuum would leave them (see search.term_frequencies).
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE knowledge_article")
    search.forget_term_frequencies()
    return by_key


def evaluate(approach: str, by_key: dict[str, Article], *, queries=QUERIES) -> Result:
    """Run every query with ``approach`` over the labelled articles only."""
    scope = Article.objects.filter(pk__in=[a.pk for a in by_key.values()])
    key_of = {a.pk: key for key, a in by_key.items()}
    result = Result(approach=approach, queries=len(queries), top1=0, top3=0, reciprocal_rank_sum=0.0)
    for q, expected in queries:
        started = time.perf_counter()
        ids = [a.pk for a in search.search(scope.only("id"), q, limit=EVAL_LIMIT, approach=approach)]
        result.timings_ms.append((time.perf_counter() - started) * 1000)
        ranked = [key_of[i] for i in ids]
        if expected in ranked:
            position = ranked.index(expected) + 1
            result.reciprocal_rank_sum += 1 / position
            result.top1 += position == 1
            result.top3 += position <= 3
        if expected not in ranked[:3]:
            result.misses.append((q, expected, ranked[:3]))
    return result
