"""Benchmark: the customer search page (/staff/customers/?q=) at 200,000 customers.

    .venv/bin/python bench/customer_search_bench.py [--database-url postgres://postgres@127.0.0.1:5432/bench_c360]
        [--customers 200000] [--samples 20] [--repeat 5] [--seed 1]

Target (issue 18): a customer is found by name, phone number in any format, customer code, address
fragment or equipment serial in under 100 ms with 200,000 customers.

Creates the database if it does not exist, migrates it and, when it holds fewer customers than
``--customers``, adds them in a few set-based INSERTs (generate_series): Chinese and Latin-letter
names, a mobile number, a customer code, one or two sites with a street address and a piece of
equipment each. Then, for ``--samples`` customers picked at random (fixed seed), it runs the searches
a person would type and times each ``--repeat`` times: the selector
(``customers.selectors.customer_search`` after ``workorders.search.search_terms``: SQL and Python) and
the whole page through the Django test client as an agent (SQL, rows and template). Printed per kind:
median, p95 and maximum in milliseconds, and how many customers the search found (median).
"""

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from bench.common import ensure_database  # noqa: E402

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉萍红娥玲芬燕彬鹏辉斌宇浩凯健俊帆帅旭宁龙林欣"
PINYIN = ["Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Huang", "Zhao", "Wu", "Zhou", "Xu", "Sun", "Ma", "Zhu"]
GIVEN_PINYIN = ["Wei", "Fang", "Na", "Min", "Jing", "Li", "Qiang", "Lei", "Jun", "Yang", "Yong", "Yan", "Jie", "Tao"]
DISTRICTS = ["浦东新区", "黄浦区", "徐汇区", "长宁区", "静安区", "普陀区", "虹口区", "杨浦区", "闵行区", "宝山区"]
ROADS = ["世纪大道", "淮海中路", "南京东路", "四川北路", "漕溪北路", "长宁路", "江宁路", "大渡河路", "控江路", "莘庄路",
         "张杨路", "陆家嘴环路", "龙华路", "虹桥路", "武宁路", "共和新路", "吴中路", "中山北路", "延安西路", "天目西路"]


def _array(values) -> str:
    return "ARRAY[" + ",".join("'" + v.replace("'", "''") + "'" for v in values) + "]"


def seed(target: int) -> None:
    """Customers up to ``target``, each with a site (every fifth a second one) and a piece of equipment."""
    from django.db import connection, transaction

    from customers.models import Customer

    have = Customer.objects.count()
    if have >= target:
        return
    start, stop = have + 1, target
    started = time.perf_counter()
    surnames, given = _array(list(SURNAMES)), _array(list(GIVEN))
    pinyin, given_pinyin = _array(PINYIN), _array(GIVEN_PINYIN)
    districts, roads = _array(DISTRICTS), _array(ROADS)
    offset = 10_000_000  # keeps numbers, codes and serials clear of rows made by other means
    # No query parameters below (the numbers are ints written into the text), so ``%`` is SQL's modulo.
    # One transaction: a failed seed leaves nothing half made.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(max(id), 0) FROM customers_customer")
        before = cursor.fetchone()[0]
        cursor.execute(f"""
            INSERT INTO customers_customer (code, name, phone, email, tier, language, notes, created_at)
            SELECT 'C-' || lpad((i + {offset})::text, 8, '0'),
                   CASE WHEN i % 10 = 0
                        THEN ({pinyin})[1 + (i * 7) % {len(PINYIN)}] || ' ' || ({given_pinyin})[1 + (i * 13) % {len(GIVEN_PINYIN)}]
                             || CASE WHEN i % 30 = 0 THEN ' Trading Co.' ELSE '' END
                        ELSE ({surnames})[1 + (i * 31) % {len(SURNAMES)}] || ({given})[1 + (i * 17) % {len(GIVEN)}]
                             || CASE WHEN i % 3 = 0 THEN ({given})[1 + (i * 11) % {len(GIVEN)}] ELSE '' END
                   END,
                   '+86' || (ARRAY['13','15','18','17','19'])[1 + i % 5] || lpad(((i::bigint * 7919) % 1000000000)::text, 9, '0'),
                   '', (ARRAY['standard','standard','standard','silver','gold','vip'])[1 + i % 6], 'zh-hans', '',
                   now() - (i % 1000) * interval '1 day'
            FROM generate_series({int(start)}, {int(stop)}) AS i
        """)
        cursor.execute(f"""
            INSERT INTO customers_site (customer_id, label, address, city, latitude, longitude)
            SELECT c.id, '', '上海市' || ({districts})[1 + c.id % {len(DISTRICTS)}] || ({roads})[1 + (c.id * 7) % {len(ROADS)}]
                         || (1 + (c.id * 37) % 2000)::text || '号' || (1 + c.id % 30)::text || '0' || (1 + c.id % 4)::text || '室',
                   '上海', 31.0 + (c.id % 500) / 1000.0, 121.2 + (c.id % 700) / 1000.0
            FROM customers_customer c WHERE c.id > {int(before)}
            UNION ALL
            SELECT c.id, '店铺', '上海市' || ({districts})[1 + (c.id + 3) % {len(DISTRICTS)}] || ({roads})[1 + (c.id * 11) % {len(ROADS)}]
                         || (1 + (c.id * 53) % 2000)::text || '号', '上海', NULL, NULL
            FROM customers_customer c WHERE c.id % 5 = 0 AND c.id > {int(before)}
        """)
        cursor.execute(f"""
            INSERT INTO customers_equipment (customer_id, site_id, serial, brand, model, install_date, warranty_end)
            SELECT s.customer_id, min(s.id),
                   (ARRAY['HR','MD','GL','AO','SM'])[1 + s.customer_id % 5] || '-' || lpad((s.customer_id + {offset})::text, 9, '0')
                   || upper(substr(md5(s.customer_id::text), 1, 4)),
                   (ARRAY['海尔','美的','格力','AO史密斯','西门子'])[1 + s.customer_id % 5],
                   (ARRAY['KFR-35GW','KFR-50LW','JSQ25-13','E60VN3','WM12N2'])[1 + s.customer_id % 5],
                   current_date - 400, current_date + ((s.customer_id % 700) - 300)::int
            FROM customers_site s
            WHERE s.customer_id > {int(before)}
            GROUP BY s.customer_id
        """)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE customers_customer; ANALYZE customers_site; ANALYZE customers_equipment")
    print(f"seeded customers {start:,}–{stop:,} in {time.perf_counter() - started:.1f} s")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/bench_c360")
    parser.add_argument("--customers", type=int, default=200_000)
    parser.add_argument("--samples", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
    os.environ.setdefault("STATIC_MANIFEST", "0")  # no collectstatic for a benchmark
    ensure_database(args.database_url)

    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client

    from core import roles as R
    from customers.models import Customer, Equipment, Site
    from customers.selectors import customer_search
    from workorders.search import search_terms

    call_command("migrate", verbosity=0)
    seed(args.customers)
    print(f"{Customer.objects.count():,} customers, {Site.objects.count():,} sites, "
          f"{Equipment.objects.count():,} pieces of equipment")

    rng = random.Random(args.seed)
    ids = list(Customer.objects.order_by().values_list("id", flat=True))
    kinds = ("phone +86 with dashes", "phone with spaces", "last 4 digits", "full name", "2 characters of a name",
             "Latin name fragment", "customer code", "code fragment", "street and number", "serial",
             "serial fragment")
    searches = {kind: [] for kind in kinds}
    while len(searches["full name"]) < args.samples:
        customer = Customer.objects.get(pk=rng.choice(ids))
        site = Site.objects.filter(customer=customer).order_by("id").first()
        equipment = Equipment.objects.filter(customer=customer).first()
        if site is None or equipment is None:
            continue
        national = customer.phone.removeprefix("+86")
        searches["phone +86 with dashes"].append(f"+86 {national[:3]}-{national[3:7]}-{national[7:]}")
        searches["phone with spaces"].append(f"{national[:3]} {national[3:7]} {national[7:]}")
        searches["last 4 digits"].append(national[-4:])
        searches["full name"].append(customer.name)
        searches["2 characters of a name"].append(customer.name[:2])
        searches["Latin name fragment"].append(rng.choice(PINYIN) + " " + rng.choice(GIVEN_PINYIN)[:2])
        searches["customer code"].append(customer.code.lower())
        searches["code fragment"].append(customer.code[-6:])
        road = next((r for r in ROADS if r in site.address), "")
        number = site.address.split(road, 1)[1].split("号", 1)[0] if road else ""
        searches["street and number"].append(f"{road}{number}号" if road else site.address[-8:])
        searches["serial"].append(equipment.serial)
        searches["serial fragment"].append(equipment.serial[-7:])

    from django.contrib.auth.models import Group, User

    user, _created = User.objects.get_or_create(username="bench-c360-agent")
    user.groups.add(Group.objects.get(name=R.AGENT))
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(user)
    client.get("/staff/customers/", {"q": "warm up"})

    print(f"\n{args.samples} searches of each kind, each {args.repeat} times; milliseconds")
    print("| search | selector p50 | p95 | max | page p50 | p95 | max | customers found (median) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    worst = 0.0
    for kind, queries in searches.items():
        selector, page, found = [], [], []
        for q in queries:
            for _ in range(args.repeat):
                started = time.perf_counter()
                terms = search_terms(q)
                rows = customer_search(text=terms.text, phone=terms.phone, digits=terms.digits)
                selector.append((time.perf_counter() - started) * 1000)
                started = time.perf_counter()
                response = client.get("/staff/customers/", {"q": q})
                page.append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200, (q, response.status_code)
            found.append(len(rows))
        p95 = statistics.quantiles(page, n=20)[-1]
        worst = max(worst, p95)
        print(f"| {kind} | {statistics.median(selector):.1f} | {statistics.quantiles(selector, n=20)[-1]:.1f} "
              f"| {max(selector):.1f} | {statistics.median(page):.1f} | {p95:.1f} | {max(page):.1f} "
              f"| {statistics.median(found):.0f} |")
    print(f"\nworst p95 of a page: {worst:.1f} ms (target < 100 ms)")


if __name__ == "__main__":
    main()
