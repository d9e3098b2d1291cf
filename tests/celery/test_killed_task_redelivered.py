"""A Celery task whose worker process is killed (SIGKILL) in the middle of it is delivered again
and done, with real processes on Redis and PostgreSQL.

Tasks are acknowledged after they finish (``CELERY_TASK_ACKS_LATE``) and handed back to the
queue when the process running them dies (``CELERY_TASK_REJECT_ON_WORKER_LOST``), so the
killed task runs again - here the geocoding of a new site, whose geocoder (a local HTTP
server answering as the AMap one does) holds back its first answer until the process asking
has been killed. No beat runs: nothing but the redelivery can locate the site (the geocoding
sweep would be the second net). ``test_killed_worker.py`` shows the outbox's own net for
messages: the claim that lapses.
"""

import json
import threading
import uuid
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import psutil
import pytest
from django.conf import settings as django_settings
from django.db import connection

from customers.models import Site
from customers.tasks import locate_sites
from tests.factories import SiteFactory

from .support import CeleryProcesses, database_url, point_app_at, redis_reachable, redis_url, restore_app, wait_until

pytestmark = pytest.mark.django_db(transaction=True)


class HoldingGeocoder:
    """An AMap-style geocoder that keeps its first caller waiting (``held`` is set) until
    ``release()``, and answers every later request at once with a point in Pudong."""

    def __init__(self):
        self.paths: list[str] = []
        self.held = threading.Event()
        self._release = threading.Event()
        geocoder = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's name)
                geocoder.paths.append(self.path)
                if not geocoder.held.is_set():
                    geocoder.held.set()
                    geocoder._release.wait(60)
                body = {"status": "1", "info": "OK", "infocode": "10000", "count": "1", "geocodes": [
                    {"location": "121.590757,31.204086", "level": "门牌号", "province": "上海市", "city": [],
                     "district": "浦东新区"}]}
                data = json.dumps(body).encode()
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # the process that asked is gone

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v3/geocode/geo"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def release(self):
        self._release.set()

    def close(self):
        self.release()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def broker():
    url = redis_url()
    if not redis_reachable(url):
        pytest.skip(f"no Redis reachable at {url}; start redis-server or set REDIS_URL")
    return url


def test_a_task_whose_worker_process_was_killed_mid_task_is_delivered_again_and_done(broker, tmp_path):
    # Given a new site waiting to be located, and a worker (one pool process) on a queue of the test's own
    site = SiteFactory(latitude=None, longitude=None, location_precision=Site.Precision.PENDING,
                       address="上海市浦东新区张江路100号")
    geocoder = HoldingGeocoder()
    queue = f"test-{uuid.uuid4().hex[:12]}"
    procs = CeleryProcesses(
        broker=broker, queue=queue, database=database_url(django_settings.DATABASES["default"]), tmp_path=tmp_path,
        env={"GEOCODER": "amap", "GEOCODER_URL": geocoder.url, "GEOCODER_KEY": "test-key", "GEOCODER_TIMEOUT": "30"},
    )
    old = point_app_at(broker, queue)
    try:
        procs._spawn("worker", ["worker", "--pool=prefork", "--concurrency=1", "-Q", queue, "-n", f"{queue}@%h",
                                "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel=INFO"])
        wait_until(lambda: " ready." in procs.log("worker"), timeout=60, what="the worker", logs=procs.logs)

        # When the site's task is running and waiting for the geocoder's answer ...
        locate_sites.delay([site.pk])
        assert geocoder.held.wait(60), procs.logs()
        # ... and the pool process running it is killed
        children = psutil.Process(procs.procs["worker"].pid).children()
        assert len(children) == 1, children
        children[0].kill()
        children[0].wait(10)
        geocoder.release()

        # Then the task is delivered again, to the pool process that replaced it, and the site is located
        def located():
            site.refresh_from_db()
            return site.location_precision != Site.Precision.PENDING

        wait_until(located, timeout=60, what="the site to be located", logs=procs.logs)
    finally:
        procs.stop()
        restore_app(old)
        geocoder.close()
        connection.close()

    assert site.location_precision == Site.Precision.STREET
    assert (site.latitude, site.longitude) == (Decimal("31.204086"), Decimal("121.590757"))
    assert len(geocoder.paths) == 2, "asked once by the killed process, once by the delivery again"
