"""Benchmark: the staff search box at 1,000,000 work orders.

    make bench BENCH_ARGS="--reuse"            # once: seeds the `bench` database
    .venv/bin/python bench/search_bench.py [--database-url postgres://...] [--samples 20] [--repeat 5]

Target (issue 20): a search finds orders by number, customers by name, phone number in
any common form, address fragment and equipment serial in under 100 ms.

Reads only. From the seeded database it picks ``--samples`` customers at random (fixed
seed) and, for each, the searches a person would type: the phone number as
``138 0000 1234``, the last four digits, the full name, its last two characters, a
street and house number from one of their addresses, the end of an equipment serial,
and an order number. Each search runs ``--repeat`` times; printed per kind: the median,
p95 and maximum over all of them, for the selector (``workorders.search.staff_search``,
its SQL and Python) and for the whole page (``/staff/work-orders/search/`` through the
Django test client, as a dispatcher: SQL, rows and template).
"""

import argparse
import os
import random
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/bench")
    parser.add_argument("--samples", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
    os.environ.setdefault("STATIC_MANIFEST", "0")  # no collectstatic for a benchmark

    import django

    django.setup()
    from django.contrib.auth.models import User
    from django.test import Client

    from customers.models import Customer, Equipment, Site
    from workorders.models import WorkOrder
    from workorders.search import staff_search
    from workorders.selectors import QUEUE_ROW_FIELDS

    orders = WorkOrder.objects.count()
    print(f"{orders:,} work orders, {Customer.objects.count():,} customers, {Site.objects.count():,} sites, "
          f"{Equipment.objects.count():,} pieces of equipment")
    rng = random.Random(args.seed)
    top = Customer.objects.order_by("-id").values_list("id", flat=True).first()
    searches = {kind: [] for kind in ("phone as typed", "last 4 digits", "full name", "2 characters of a name",
                                      "street and number", "serial fragment", "order number")}
    while len(searches["full name"]) < args.samples:
        customer = Customer.objects.filter(pk__gte=rng.randint(1, top)).order_by("pk").first()
        site = Site.objects.filter(customer=customer).first()
        equipment = Equipment.objects.filter(customer=customer).first()
        if customer is None or site is None or equipment is None:
            continue
        national = customer.phone.removeprefix("+86")
        searches["phone as typed"].append(f"{national[:3]} {national[3:7]} {national[7:]}")
        searches["last 4 digits"].append(national[-4:])
        searches["full name"].append(customer.name)
        searches["2 characters of a name"].append(customer.name[-2:])
        street = re.search(r"[区县]([^区县]+?[路街道]\d+号)", site.address)
        searches["street and number"].append(street.group(1) if street else site.address[-8:])
        searches["serial fragment"].append(equipment.serial[-7:])
        searches["order number"].append(str(rng.randint(1, orders)))

    user = User.objects.get(username="dispatcher")
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(user)
    client.get("/staff/work-orders/search/", {"q": "warm up"})

    print(f"\n{args.samples} searches of each kind, each {args.repeat} times; milliseconds")
    print(f"| search | selector median | p95 | max | page median | p95 | max | orders found (median) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    worst = 0.0
    for kind, queries in searches.items():
        selector, page, found = [], [], []
        for q in queries:
            for _ in range(args.repeat):
                started = time.perf_counter()
                result = staff_search(user=user, query=q, values=QUEUE_ROW_FIELDS)
                selector.append((time.perf_counter() - started) * 1000)
                started = time.perf_counter()
                response = client.get("/staff/work-orders/search/", {"q": q})
                page.append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200, (q, response.status_code)
            found.append(len(result.orders))
        p95 = statistics.quantiles(page, n=20)[-1]
        worst = max(worst, p95)
        print(f"| {kind} | {statistics.median(selector):.1f} | {statistics.quantiles(selector, n=20)[-1]:.1f} "
              f"| {max(selector):.1f} | {statistics.median(page):.1f} | {p95:.1f} | {max(page):.1f} "
              f"| {statistics.median(found):.0f} |")
    print(f"\nworst p95 of a page: {worst:.1f} ms (target < 100 ms)")


if __name__ == "__main__":
    main()
