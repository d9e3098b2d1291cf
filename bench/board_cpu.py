"""CPU milliseconds of the dispatch board's refresh (``board.json``), in this process, by part.

    .venv/bin/python bench/board_cpu.py --database-url postgres://postgres@127.0.0.1:5432/bench \\
        [--user day-dispatcher-0] [--n 10]

Reads only (no login is written: the request is built with the user set on it). Prints the CPU
time per call, after one unmeasured call, of ``technician_data`` (the technicians' rows and
open jobs), ``dispatch_board`` (with it), ``_board_payload`` (with both: the board as the page
gets it) and the JSON encoding. CPU time, unlike wall time, moves little when other work runs on
the machine: compare this between commits. The user must be a dispatcher (``bench/day_pages.py``
and ``bench/day_in_life.py`` create ``day-dispatcher-0``).
"""

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def cpu_ms(call, n: int):
    result = call()
    started = time.process_time()
    for _ in range(n):
        result = call()
    return (time.process_time() - started) / n * 1000, result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--user", default="day-dispatcher-0", help="a dispatcher's username")
    parser.add_argument("--n", type=int, default=10, help="calls per part (default 10)")
    args = parser.parse_args(argv)
    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

    import django

    django.setup()
    import orjson
    from django.contrib.auth import get_user_model
    from django.test import RequestFactory
    from django.utils import translation

    from dispatch import selectors, views
    from technicians.models import Technician

    translation.activate("en")
    request = RequestFactory().get("/dispatch/board.json", {"version": ""})
    request.user = get_user_model().objects.get(username=args.user)
    ms, _data = cpu_ms(lambda: selectors.technician_data(Technician.objects.filter(active=True)), args.n)
    print(f"technician_data: {ms:.1f} ms")
    ms, board = cpu_ms(selectors.dispatch_board, args.n)
    jobs = sum(len(t.jobs) for t in board.technicians)
    print(f"dispatch_board (with it): {ms:.1f} ms ({len(board.technicians)} technicians, {jobs} open jobs, "
          f"{len(board.queue)} queue rows)")
    ms, (payload, _clock) = cpu_ms(lambda: views._board_payload(request), args.n)
    print(f"_board_payload (with both): {ms:.1f} ms")
    ms, body = cpu_ms(lambda: orjson.dumps(payload, default=views._DJANGO_JSON.default,
                                           option=orjson.OPT_PASSTHROUGH_DATETIME), args.n)
    print(f"JSON: {ms:.1f} ms ({len(body):,} bytes)")


if __name__ == "__main__":
    main()
