import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()

# Load the URLconf (and with it every view module) now, then move these
# long-lived objects out of the garbage collector's way: otherwise its full
# passes rescan them inside requests that allocate a lot (the dispatch board
# with hundreds of technicians: tens of milliseconds at p95).
from django.urls import get_resolver  # noqa: E402

from knowledge.search import load_segmenter  # noqa: E402

get_resolver().url_patterns
# The Chinese word segmenter's dictionary too: loaded inside a request it took 4 s, the p95 of
# the technicians' job page in the day-in-the-life run (docs/operations.md, "A day in the life").
load_segmenter()
gc.freeze()
