"""Running calls at the same moment on separate database connections (PostgreSQL tests)."""

import threading

from django.db import connection

from core.errors import ApplicationError


def race(calls, *, timeout=60):
    """Run each call in its own thread (its own connection), released together by a barrier.

    Returns each call's result, or the ApplicationError it raised, in call order.
    """
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(i, fn):
        try:
            barrier.wait()
            results[i] = fn()
        except ApplicationError as exc:
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, fn)) for i, fn in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=timeout)
    return results
