"""Search support: pg_trgm and the GIN indexes."""

from django.db import migrations

FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    # Keep the tsvector in the row instead of the TOAST table: an article row
    # (body, HTML and vector) is over the ~2 kB TOAST threshold, and with the
    # default EXTENDED storage the vector was moved out of line, so that every
    # match and every ranked row cost a TOAST lookup (4x slower on 10,000
    # articles, see bench/kb_search.py). With MAIN the bodies go out of line first.
    "ALTER TABLE knowledge_article ALTER COLUMN search_vector SET STORAGE MAIN",
    # Full-text search: search_vector @@ query (knowledge.search.search_jieba).
    "CREATE INDEX IF NOT EXISTS kb_article_search_vector ON knowledge_article USING gin (search_vector)",
    # Trigram similarity on titles: lower(title) %> query (knowledge.search.search_combined).
    "CREATE INDEX IF NOT EXISTS kb_article_title_trgm ON knowledge_article USING gin (lower(title) gin_trgm_ops)",
]
BACKWARD = [
    "ALTER TABLE knowledge_article ALTER COLUMN search_vector SET STORAGE EXTENDED",
    "DROP INDEX IF EXISTS kb_article_title_trgm",
    "DROP INDEX IF EXISTS kb_article_search_vector",
    # The extension stays: other code may use it.
]


class Migration(migrations.Migration):
    dependencies = [("knowledge", "0001_initial")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD, elidable=False)]
