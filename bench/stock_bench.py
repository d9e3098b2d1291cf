"""Benchmark: stock on hand for 5,000 parts over 500 locations with 2,000,000 ledger rows.

    .venv/bin/python bench/stock_bench.py [--database-url postgres://postgres@127.0.0.1:5432/bench_stock]
                                          [--parts 5000] [--locations 500] [--moves 2000000] [--repeat 30]

Target (issue 19): stock on hand answers in under 50 ms.

The first run creates the database (``--database-url``), migrates it and fills it (a minute or
two; ``--rebuild`` does it again): ``--parts`` parts; ``--locations`` locations, of which 4 %
warehouses (carrying every part), 80 % technicians' vans (150 parts each) and the rest partner
companies' stores (400 parts each); and ``--moves`` ledger rows spread over those levels
(receipts, transfers, reservations, uses, releases, adjustments), each level set to the sum of
its rows, as ``inventory.services`` keeps them. Then, each ``--repeat`` times, printed as median,
p95 and maximum:

- on hand and reserved of every part over all locations (``stock_on_hand_by_part``);
- one warehouse's stock, all 5,000 parts with their numbers, and one van's (``stock_on_hand_at``,
  the stock page and the API, here without their 500-row cap);
- one part over all locations, and the vans of all technicians for a job's three parts
  (``van_stock``, the dispatch candidates page);
- a reservation for an assignment (``stock_reserve_for_assignments``: two statements) and a use
  (``stock_use``), rolled back;
- the ledger check over all 2,000,000 rows (``stock_ledger_balances``), once: it must find no level
  that disagrees with its ledger.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from bench.common import ensure_database  # noqa: E402


def timed(fn, repeat: int) -> dict:
    fn()  # warm: plans, caches
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return {"median": statistics.median(times), "p95": times[max(0, int(len(times) * 0.95) - 1)], "max": times[-1]}


def fill(args) -> None:
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.db import connection, transaction

    from catalog.models import Part
    from inventory.models import StockLocation
    from technicians.models import PartnerCompany, Technician

    call_command("migrate", verbosity=0)
    started = time.monotonic()
    n_wh = max(1, args.locations * 4 // 100)
    n_van = args.locations * 80 // 100
    n_store = args.locations - n_wh - n_van
    with transaction.atomic():
        Part.objects.bulk_create(
            Part(part_number=f"P{i:05d}", name=f"Part {i}", unit="kg" if i % 10 == 0 else "pcs",
                 unit_price=10 + i % 500) for i in range(args.parts))
        users = User.objects.bulk_create(User(username=f"bench-tech-{i}") for i in range(n_van))
        techs = Technician.objects.bulk_create(Technician(user=u, phone=f"+8613700{i:06d}")
                                               for i, u in enumerate(users))
        company = PartnerCompany.objects.create(name="Bench partner")
        locations = [StockLocation(code=f"wh-{i}", name=f"Warehouse {i}", kind="warehouse",
                                   latitude=31 + i / 100, longitude=121 + i / 100) for i in range(n_wh)]
        locations += [StockLocation(code=f"van-{t.pk}", name=f"Van {t.pk}", kind="van", technician=t) for t in techs]
        locations += [StockLocation(code=f"store-{i}", name=f"Store {i}", kind="partner_store",
                                    partner_company=company) for i in range(n_store)]
        StockLocation.objects.bulk_create(locations)
    with connection.cursor() as cursor:
        # Levels: warehouses carry every part, vans 150, stores 400 (spread by a hash of the location).
        cursor.execute("""
            INSERT INTO inventory_stocklevel (location_id, part_id, on_hand, reserved)
            SELECT loc.id, p.id, 0, 0
            FROM inventory_stocklocation loc
            JOIN (SELECT id, row_number() OVER (ORDER BY id) AS rn FROM inventory_part) p
              ON loc.kind = 'warehouse'
              OR (loc.kind = 'van' AND (p.rn + loc.id * 37) %% %(parts)s < 150)
              OR (loc.kind = 'partner_store' AND (p.rn + loc.id * 53) %% %(parts)s < 400)
        """, {"parts": args.parts})
        cursor.execute("SELECT count(*) FROM inventory_stocklevel")
        levels = cursor.fetchone()[0]
        per_level = max(1, -(-args.moves // levels))  # rounded up: at least --moves rows
        # Ledger rows: per level, a receipt first, then a mix whose on-hand change stays positive.
        cursor.execute("""
            INSERT INTO inventory_stockmove (location_id, part_id, kind, quantity, reserved_delta, work_order_id,
                                             serials, reason, created_at)
            SELECT sl.location_id, sl.part_id,
                   (ARRAY['receipt','reservation','use','release','transfer_in','adjustment','return'])[1 + g %% 7],
                   CASE g %% 7 WHEN 0 THEN 20 WHEN 2 THEN -1 WHEN 4 THEN 3 WHEN 5 THEN -1 WHEN 6 THEN 1 ELSE 0 END,
                   CASE g %% 7 WHEN 1 THEN 1 WHEN 2 THEN -1 WHEN 3 THEN 0 ELSE 0 END,
                   CASE WHEN g %% 7 IN (1, 2, 3) THEN sl.id * 10 + g END,
                   '{}', CASE g %% 7 WHEN 5 THEN 'count' ELSE '' END,
                   now() - make_interval(secs => (%(per)s - g) * 3600)
            FROM inventory_stocklevel sl CROSS JOIN generate_series(0, %(per)s - 1) g
        """, {"per": per_level})
        cursor.execute("""
            UPDATE inventory_stocklevel sl SET on_hand = l.q, reserved = l.r
            FROM (SELECT location_id, part_id, SUM(quantity) q, SUM(reserved_delta) r
                  FROM inventory_stockmove GROUP BY 1, 2) l
            WHERE l.location_id = sl.location_id AND l.part_id = sl.part_id
        """)
    connection.close()
    with connection.cursor() as cursor:
        for table in ("inventory_part", "inventory_stocklocation", "inventory_stocklevel", "inventory_stockmove"):
            cursor.execute(f"VACUUM (ANALYZE) {table}")
    print(f"filled in {time.monotonic() - started:.0f} s")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/bench_stock")
    parser.add_argument("--parts", type=int, default=5000)
    parser.add_argument("--locations", type=int, default=500)
    parser.add_argument("--moves", type=int, default=2_000_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--rebuild", action="store_true")
    args = parser.parse_args()
    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
    os.environ.setdefault("STATIC_MANIFEST", "0")
    must_fill = ensure_database(args.database_url, rebuild=args.rebuild)

    import django

    django.setup()
    from django.db import connection, transaction

    from catalog.models import Part, ServiceType, ServiceTypePart
    from inventory.models import StockLevel, StockLocation, StockMove
    from inventory.selectors import stock_ledger_balances, stock_on_hand_at, stock_on_hand_by_part, van_stock
    from inventory.services import stock_reserve_for_assignments, stock_use
    from technicians.models import Technician

    if must_fill:
        fill(args)
    print(f"{Part.objects.count():,} parts, {StockLocation.objects.count():,} locations, "
          f"{StockLevel.objects.count():,} levels, {StockMove.objects.count():,} ledger rows")
    warehouse = StockLocation.objects.filter(kind="warehouse").order_by("pk").first()
    some_parts = list(Part.objects.order_by("pk").values_list("pk", flat=True)[100:103])
    tech_ids = list(Technician.objects.values_list("pk", flat=True))
    van_id = StockLocation.objects.filter(kind="van").order_by("pk").values_list("pk", flat=True).first()

    results = {
        "on hand of every part, all locations": timed(lambda: stock_on_hand_by_part(), args.repeat),
        "one warehouse, every part (5,000 rows)": timed(lambda: stock_on_hand_at(warehouse.pk), args.repeat),
        "one van (its 150 parts)": timed(lambda: stock_on_hand_at(van_id), args.repeat),
        "one part, all locations": timed(lambda: stock_on_hand_by_part([some_parts[0]]), args.repeat),
        "vans of all technicians, 3 parts": timed(
            lambda: van_stock(technician_ids=tech_ids, part_ids=some_parts), args.repeat),
    }

    # Writes, rolled back: a reservation at assignment, a use.
    service_type, _ = ServiceType.objects.get_or_create(code="bench-stock", defaults={"name": "Bench"})
    for pk in some_parts:
        ServiceTypePart.objects.get_or_create(service_type=service_type, part_id=pk, defaults={"quantity": 1})
    van = StockLocation.objects.filter(kind="van", levels__part_id=some_parts[0]).first()
    tech = van.technician

    class Order:
        pk = 10**12
        service_type_id = service_type.pk

    def reserve():
        with transaction.atomic():
            stock_reserve_for_assignments(assignments=[(Order, tech)])
            transaction.set_rollback(True)

    def use():
        with transaction.atomic():
            stock_use(location_id=warehouse.pk, part_id=some_parts[0], quantity=1, work_order_id=10**12)
            transaction.set_rollback(True)

    results["reservation at assignment (2 statements)"] = timed(reserve, args.repeat)
    results["use of one part"] = timed(use, args.repeat)
    for name, r in results.items():
        print(f"{name:<45} median {r['median']:7.2f} ms   p95 {r['p95']:7.2f} ms   max {r['max']:7.2f} ms")
    start = time.perf_counter()
    wrong = stock_ledger_balances()
    print(f"ledger check over every row: {len(wrong)} levels disagree ({(time.perf_counter() - start):.1f} s)")
    connection.close()


if __name__ == "__main__":
    main()
