"""Profile one benchmark scenario in this process (no server, no wrk).

    .venv/bin/python bench/cpu_profile.py staff-list                 # CPU ms/request and queries
    .venv/bin/python bench/cpu_profile.py staff-detail --pyinstrument  # where the time goes
    .venv/bin/python bench/cpu_profile.py api-create --cprofile --n 300

Uses the same database, settings, credentials and paths as ``bench/run.py``
(the database must already be seeded, e.g. by one ``bench/run.py`` run), and
requests through Django's test client, so the numbers are the server's CPU per
request plus the test client's own small overhead. CPU time, unlike req/s, moves
little when other work runs on the machine: compare this figure between commits.
Deep-page paths are followed in-process too.
"""

import argparse
import json
import os
import re
import sys
import time
import uuid
from html import unescape
from pathlib import Path
from urllib.parse import urljoin, urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import run  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("scenario", help="a name from bench/run.py --list")
    parser.add_argument("--n", type=int, default=200, help="requests per round (default 200)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds; the fastest counts (default 3)")
    parser.add_argument("--pyinstrument", action="store_true", help="print a pyinstrument call tree")
    parser.add_argument("--cprofile", action="store_true", help="print cProfile's top functions (by own time)")
    parser.add_argument("--dump", metavar="FILE",
                        help="with --cprofile: also save the statistics (pstats) to FILE, to compare two commits")
    parser.add_argument("--sql", action="store_true", help="print the SQL of one request")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", run.DEFAULT_DB))
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", run.DEFAULT_REDIS))
    args = parser.parse_args(argv)

    from bench.scenarios import SCENARIOS

    scenario = next((s for s in SCENARIOS if s.name == args.scenario), None)
    if scenario is None:
        sys.exit(f"unknown scenario {args.scenario!r}; one of: {', '.join(s.name for s in SCENARIOS)}")
    use_redis = bool(args.redis_url) and run.reachable(args.redis_url, 6379)
    os.environ.update(run.server_env(args, use_redis))

    import django

    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    ctx = run.Context("http://testserver")
    run.prepare(ctx)
    client = Client()

    def get(path, auth=None):
        headers = {}
        if auth == "token":
            headers["Authorization"] = f"Token {ctx.token}"
        client.cookies.clear()
        if auth == "session":
            client.cookies[settings.SESSION_COOKIE_NAME] = ctx.session_id
        response = client.get(path, headers=headers)
        return response.status_code, response, response.content.decode()

    def follow_next(path, *, auth, pages):
        for _ in range(pages):
            status, response, body = get(path, auth)
            if status != 200:
                raise RuntimeError(f"{path} answered {status}")
            if "json" in response.get("Content-Type", ""):
                nxt = json.loads(body).get("next")
            else:
                match = re.search(r'<a\b[^>]*\brel="next"[^>]*>', body)
                href = re.search(r'\bhref="([^"]+)"', match.group(0)) if match else None
                nxt = unescape(href.group(1)) if href else None
            if not nxt:
                return path
            parts = urlsplit(urljoin("http://testserver" + path, nxt))
            path = parts.path + ("?" + parts.query if parts.query else "")
        return path

    ctx.get = get
    ctx.follow_next = follow_next
    if scenario.auth == "csrf":
        status, response, body = get("/request/")
        match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', body)
        ctx.csrf_token = match.group(1) if match else ""
        ctx.csrf_cookie = response.cookies[settings.CSRF_COOKIE_NAME].value
    path = scenario.path(ctx)

    def once():
        headers = {}
        client.cookies.clear()
        if scenario.auth == "token":
            headers["Authorization"] = f"Token {ctx.token}"
        elif scenario.auth == "session":
            client.cookies[settings.SESSION_COOKIE_NAME] = ctx.session_id
        elif scenario.auth == "csrf":
            client.cookies[settings.CSRF_COOKIE_NAME] = ctx.csrf_cookie
        if scenario.method == "GET":
            response = client.get(path, headers=headers)
        else:
            content_type, template = scenario.body(ctx)
            key = str(uuid.uuid4())
            extra = {name: run.fill(value, key) for name, value in scenario.headers.items()}
            response = client.generic(scenario.method, path, data=run.fill(template, key).encode(),
                                      content_type=content_type, headers={**headers, **extra})
        if response.status_code not in scenario.expect:
            raise SystemExit(f"{scenario.method} {path} answered {response.status_code}: "
                             f"{response.content[:500]!r}")
        return response

    for _ in range(5):
        once()
    with CaptureQueriesContext(connection) as captured:
        once()
    print(f"{scenario.label}: {scenario.method} {path}")
    print(f"SQL queries: {len(captured)}")
    if args.sql:
        for query in captured:
            print(f"  [{query['time']}] {query['sql'][:600]}")

    if args.pyinstrument:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.0002)
        profiler.start()
        for _ in range(args.n):
            once()
        profiler.stop()
        print(profiler.output_text(unicode=True, color=False, show_all=False))
    elif args.cprofile:
        import cProfile
        import pstats

        profile = cProfile.Profile()
        profile.enable()
        for _ in range(args.n):
            once()
        profile.disable()
        pstats.Stats(profile).sort_stats("tottime").print_stats(40)
        if args.dump:
            profile.dump_stats(args.dump)

    rounds = []
    for _ in range(args.rounds):
        started = time.process_time()
        for _ in range(args.n):
            once()
        rounds.append((time.process_time() - started) / args.n * 1000)
    print(f"CPU ms/request: {min(rounds):.2f} (rounds: {', '.join(f'{r:.2f}' for r in rounds)}; n={args.n})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
