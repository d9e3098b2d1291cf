"""How good is the Gantt's suggested order (nearest next, dispatch.travel.nearest_next)?

    .venv/bin/python bench/route_order_bench.py [--days 2000] [--seed 1]

Random technicians' days in a 30 km square around Shanghai: a start point and 3 to 7 stops. For
each day, the nearest-next route's minutes against the best order (every permutation), and its
time per day. Straight-line estimate, no routing server; no database.
"""

import argparse
import itertools
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    import django

    django.setup()
    from django.conf import settings

    settings.DISPATCH_ROUTING_URL = ""
    from dispatch import travel

    rng = random.Random(args.seed)
    ratios, exact, seconds = [], 0, []
    for _day in range(args.days):
        point = lambda: (31.1 + rng.random() * 0.27, 121.3 + rng.random() * 0.31)  # noqa: E731
        start, stops = point(), [point() for _ in range(rng.randint(3, 7))]
        began = time.perf_counter()
        _order, minutes = travel.nearest_next(start, stops)
        seconds.append(time.perf_counter() - began)
        best = min(travel.route_minutes(start, [stops[i] for i in perm])
                   for perm in itertools.permutations(range(len(stops))))
        ratios.append(minutes / best)
        exact += minutes <= best + 1e-6
    ratios.sort()
    print(f"days: {args.days}, stops 3-7 per day")
    print(f"nearest next / best: median {statistics.median(ratios):.3f}, mean {statistics.mean(ratios):.3f}, "
          f"p90 {ratios[int(0.9 * len(ratios))]:.3f}, worst {ratios[-1]:.3f}; the best order itself: "
          f"{exact / args.days:.0%} of days")
    print(f"nearest next per day: median {statistics.median(seconds) * 1e3:.2f} ms")


if __name__ == "__main__":
    main()
