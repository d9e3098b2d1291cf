"""A web process loads the Chinese word segmenter when it starts, not in its first request."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_wsgi_application_starts_with_the_segmenter_dictionary_loaded():
    # A fresh interpreter, as gunicorn's worker imports config.wsgi; nothing else touches jieba.
    code = "import config.wsgi, jieba; print('initialized', jieba.dt.initialized)"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                            env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings"})
    assert result.returncode == 0, result.stderr[-2000:]
    assert "initialized True" in result.stdout
