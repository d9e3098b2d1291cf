"""Handing ids to Celery after commit, a batch at a time, from a thread of the process's own.

Handing a task to the broker costs about half a millisecond of CPU and a round trip to Redis;
done after every commit, inside the request, it made creating and resolving work orders about
20% slower (bench/outbox_throughput.py). With a ``BatchPublisher`` the commit only appends the
ids to a list, and the thread calls ``publish`` with everything gathered at most once per
``window_ms()``: at once when the process is quiet, and under load with everything committed
since the last call. What is handed over this way must also be found by a sweep (the outbox's
retry sweep, the geocoding sweep): a process that dies with ids still in the list loses nothing.
"""

import os
import threading
import time
from collections.abc import Callable


class BatchPublisher:
    def __init__(self, publish: Callable[[list[int]], None], *, window_ms: Callable[[], int], name: str):
        self.publish, self.window_ms, self.name = publish, window_ms, name
        self._reset()
        os.register_at_fork(after_in_child=self._reset)

    def _reset(self):
        self._lock = threading.Lock()
        self._ids: list[int] = []
        self._wake = threading.Event()
        self._kick = threading.Event()
        self._idle = threading.Event()
        self._idle.set()
        self._thread = None
        self._last = 0.0  # monotonic time of the last publish
        self._busy = 0  # publishes under way

    def add(self, ids: list[int]) -> None:
        with self._lock:
            self._ids.extend(ids)
            self._idle.clear()
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
                self._thread.start()
        self._wake.set()

    def _run(self) -> None:
        while True:
            self._wake.wait()
            wait = self._last + self.window_ms() / 1000 - time.monotonic()
            if wait > 0:
                self._kick.clear()
                self._kick.wait(wait)  # the rest of the window, unless a flush ends it
            self._wake.clear()
            self._last = time.monotonic()
            self._send()

    def _send(self) -> None:
        with self._lock:
            ids, self._ids = self._ids, []
            self._busy += 1
        try:
            if ids:
                self.publish(ids)
        finally:
            with self._lock:
                self._busy -= 1
                if not self._ids and not self._busy:
                    self._idle.set()

    def flush(self, timeout: float = 5.0) -> bool:
        """Publish what is waiting now, in this thread, and wait for a publish under way (tests; exit)."""
        self._send()
        self._kick.set()
        return self._idle.wait(timeout)
