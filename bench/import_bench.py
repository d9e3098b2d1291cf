"""Benchmark: importing 100,000 customer rows from a CSV file (issue 15: under 60 s).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench .venv/bin/python bench/import_bench.py [--rows 100000]

Builds a UTF-8 CSV of ``--rows`` customers (scripts/make_import_samples.py's generator, codes
C000001...), then, as the admin pages do with django-import-export (customers/resources.py):

1. the preview: reads the file and runs the dry run (everything rolled back);
2. the confirmed import: reads the file again and writes it in one transaction;
3. the same file once more: every row unchanged (skipped), nothing written.

Prints the seconds of each step. The customers it created are deleted at the end (``--keep``
leaves them). Run it against a database of its own: it needs the migrations applied.
"""

import argparse
import csv
import io
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from make_import_samples import CUSTOMER_HEAD_EN, customer_rows  # noqa: E402

from core.imports import SniffedCSV  # noqa: E402
from customers.models import Customer  # noqa: E402
from customers.resources import CustomerResource  # noqa: E402


def build_file(rows: int) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CUSTOMER_HEAD_EN)
    writer.writerows(customer_rows(rows, seed=2026, start=1))
    return buffer.getvalue().encode("utf-8-sig")


def timed(label: str, data: bytes, *, dry_run: bool):
    started = time.perf_counter()
    dataset = SniffedCSV().create_dataset(data)
    result = CustomerResource().import_data(dataset, dry_run=dry_run, raise_errors=False, rollback_on_validation_errors=True)
    seconds = time.perf_counter() - started
    counts = {k: result.totals.get(k, 0) for k in ("new", "update", "skip", "invalid", "error")}
    print(f"{label:<28} {seconds:7.1f} s   {counts}")
    if result.has_errors() or result.has_validation_errors():
        print("  errors:", [e.error for e in result.base_errors][:3], [r.error_dict for r in result.invalid_rows][:3])
    return seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--keep", action="store_true", help="leave the imported customers in the database")
    args = parser.parse_args()

    data = build_file(args.rows)
    codes = [f"C{n:06d}" for n in range(1, args.rows + 1)]
    if Customer.objects.filter(code__in=codes[:1000]).exists():
        sys.exit("This database already holds customers with the benchmark's codes; use an empty one.")
    print(f"{args.rows:,d} customer rows, {len(data) / 1e6:.1f} MB of CSV")
    try:
        timed("preview (dry run)", data, dry_run=True)
        total = timed("confirmed import", data, dry_run=False)
        timed("same file again (no-op)", data, dry_run=False)
        print(f"import of {args.rows:,d} rows: {total:.1f} s (target < 60 s)")
    finally:
        if not args.keep:
            for start in range(0, len(codes), 10_000):
                Customer.objects.filter(code__in=codes[start : start + 10_000]).delete()


if __name__ == "__main__":
    main()
