"""Offline geocoding: 10,000 distinct addresses in one process, and the hit rate on a labelled set.

    .venv/bin/python bench/geocode_bench.py [--addresses 10000] [--one-by-one]

No database and no network: the offline provider (core/geocoding.py, cpca's national
divisions) is what runs. It reports

- the cold start: importing cpca (and pandas, which it builds its result table with) and reading
  its divisions, paid once per worker process;
- the time to geocode ``--addresses`` distinct addresses built from real division names, road
  names and house numbers, in batches of 500 as the sweep hands them over (target: under 10 s),
  and with ``--one-by-one`` also one call per address, as the after-commit task does;
- the hit rate on tests/data/geocode_addresses.csv (real-looking addresses from every province
  with the district each lies in): how many are placed in the right district, how many only at
  their city or province, how many are wrong or not found.
"""

import argparse
import csv
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ["GEOCODER"] = "offline"

import django  # noqa: E402

django.setup()

from core.geocoding import OfflineGeocoder, _cpca, _divisions  # noqa: E402

ROADS = ["人民路", "中山路", "解放路", "建设大道", "新华街", "文化路", "长江路", "黄河路", "和平街", "胜利路",
         "朝阳路", "工业园一路", "科技大道", "滨江路", "东风路", "北京路", "学府路", "迎宾大道"]
BUILDINGS = ["", "A座", "3号楼", "2单元", "综合楼", "商务中心", "小区"]

LABELLED = ROOT / "tests" / "data" / "geocode_addresses.csv"


def distinct_addresses(n: int, seed: int = 7) -> list[str]:
    """``n`` different addresses: province + city + district names from the divisions, a road, a number."""
    rng = random.Random(seed)
    divisions = _divisions()
    districts = [code for code in divisions if not code.endswith("00")]
    out, seen = [], set()
    while len(out) < n:
        code = rng.choice(districts)
        province = divisions.get(code[:2] + "0000", ("",))[0]
        city = divisions.get(code[:4] + "00", ("",))[0]
        city = "" if city == "市辖区" or rng.random() < 0.2 else city
        province = "" if rng.random() < 0.3 else province
        address = (f"{province}{city}{divisions[code][0]}{rng.choice(ROADS)}{rng.randint(1, 2000)}号"
                   f"{rng.choice(BUILDINGS)}")
        if address not in seen:
            seen.add(address)
            out.append(address)
    return out


def hit_rate() -> dict:
    rows = list(csv.DictReader(LABELLED.open(encoding="utf-8")))
    found = OfflineGeocoder().geocode_many([r["address"] for r in rows])
    counts = {"right district": 0, "city or province only": 0, "wrong": 0, "not found": 0}
    misses = []
    for row, location in zip(rows, found):
        if location is None:
            counts["not found"] += 1
            misses.append((row["address"], "—"))
            continue
        names = location.area.split()
        if names and names[-1] == row["district"] and names[0] == row["province"]:
            counts["right district"] += 1
        elif location.precision != "district" and names and names[0] == row["province"]:
            counts["city or province only"] += 1
            misses.append((row["address"], location.area))
        else:
            counts["wrong"] += 1
            misses.append((row["address"], location.area))
    provinces = len({r["province"] for r in rows})
    return {"rows": len(rows), "provinces": provinces, **counts, "misses": misses}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--addresses", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--one-by-one", action="store_true", help="also time one call per address")
    args = parser.parse_args()

    t0 = time.perf_counter()
    _cpca()
    _divisions()
    cold = time.perf_counter() - t0
    print(f"cold start (import cpca + pandas, read the divisions): {cold:.2f} s")

    addresses = distinct_addresses(args.addresses)
    geocoder = OfflineGeocoder()
    t0 = time.perf_counter()
    results = []
    for start in range(0, len(addresses), args.batch):
        results += geocoder.geocode_many(addresses[start:start + args.batch])
    batched = time.perf_counter() - t0
    placed = sum(1 for r in results if r is not None)
    print(f"{len(addresses)} distinct addresses in batches of {args.batch}: {batched:.2f} s "
          f"({batched / len(addresses) * 1e6:.0f} µs each), {placed} placed")
    if args.one_by_one:
        t0 = time.perf_counter()
        for address in addresses:
            geocoder.geocode(address)
        single = time.perf_counter() - t0
        print(f"{len(addresses)} distinct addresses one call each: {single:.2f} s "
              f"({single / len(addresses) * 1e6:.0f} µs each)")

    rate = hit_rate()
    print(f"labelled set {LABELLED.relative_to(ROOT)}: {rate['rows']} addresses from {rate['provinces']} "
          f"provinces")
    for key in ("right district", "city or province only", "wrong", "not found"):
        print(f"  {key}: {rate[key]} ({rate[key] / rate['rows']:.1%})")
    for address, area in rate["misses"]:
        print(f"  miss: {address} -> {area}")


if __name__ == "__main__":
    main()
