"""Rebuild every article's search vector (after a change to segmentation or the word lists).

    python manage.py kb_reindex
"""

from django.core.management.base import BaseCommand
from django.db import connection

from knowledge import search
from knowledge.models import Article


class Command(BaseCommand):
    help = "Rebuild the search vector of every article."

    def handle(self, *args, **options):
        done = 0
        batch: list = []
        articles = Article.objects.prefetch_related("tags").only("id", "title", "summary", "body")
        for article in articles.iterator(chunk_size=500):
            tags = [t.name for t in article.tags.all()]
            batch.append((article.pk, search.document_parts(
                title=article.title, summary=article.summary, body=article.body, tags=tags
            )))
            if len(batch) == 500:
                search.refresh_vectors(batch)
                done += len(batch)
                batch = []
        search.refresh_vectors(batch)
        done += len(batch)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE knowledge_article")
        search.forget_term_frequencies()
        self.stdout.write(self.style.SUCCESS(f"Rebuilt the search vector of {done} articles."))
