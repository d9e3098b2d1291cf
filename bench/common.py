"""What several benchmark scripts share: their own database, and the CPU time of a PostgreSQL backend.

Import it after the script has put the repository root on ``sys.path`` (as each script does).
"""

import os
from pathlib import Path
from urllib.parse import urlsplit

CLK_TCK = os.sysconf("SC_CLK_TCK")


def ensure_database(url: str, *, rebuild: bool = False) -> bool:
    """Create the database of ``url`` if missing (dropped and created again with ``rebuild``);
    True when it was created, so the caller must fill it."""
    import psycopg2

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = psycopg2.connect(parts._replace(path="/postgres").geturl())
    admin.autocommit = True
    try:
        with admin.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            exists = cursor.fetchone() is not None
            if exists and rebuild:
                cursor.execute(f'DROP DATABASE "{name}"')
                exists = False
            if not exists:
                cursor.execute(f'CREATE DATABASE "{name}"')
                print(f"created database {name}")
    finally:
        admin.close()
    return not exists


def process_cpu_seconds(pid: int) -> float:
    """utime + stime of a process on this host (a PostgreSQL backend: ``SELECT pg_backend_pid()``);
    NaN when /proc does not show it (a database on another host)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def bench_people(code: str, *, n_customers: int, n_technicians: int, customer_phones: int, technician_phones: int,
                 street: str):
    """A benchmark's own service type (``code``), customers each with a site, and technicians (in the
    technician role), made once and found again on later runs: ``(service type, [(customer, site)],
    [technician])``. ``customer_phones`` and ``technician_phones``: where their numbers start (+8613…),
    so that two benchmarks sharing a database do not meet. Call after ``django.setup()``."""
    from django.contrib.auth.models import Group, User
    from django.core.management import call_command

    from catalog.models import ServiceType
    from core import roles as R
    from customers.models import Customer, Site
    from technicians.models import Technician

    call_command("migrate", verbosity=0)
    service_type, _ = ServiceType.objects.get_or_create(
        code=code, defaults={"name": code.replace("-", " ").capitalize(), "requires_review": False}
    )
    customers = []
    for i in range(n_customers):
        customer, _ = Customer.objects.get_or_create(
            phone=f"+8613{customer_phones + i:09d}",
            defaults={"name": f"{code}-{i}", "email": f"{code}-{i}@example.com",
                      "language": "zh-hans" if i % 3 else "en"},
        )
        site = Site.objects.filter(customer=customer).first() or Site.objects.create(
            customer=customer, address=f"{i} {street}, Shanghai", city="Shanghai", latitude=31.2, longitude=121.5
        )
        customers.append((customer, site))
    group, _ = Group.objects.get_or_create(name=R.TECHNICIAN)
    technicians = []
    for i in range(n_technicians):
        user, created = User.objects.get_or_create(username=f"{code}-tech-{i}")
        if created:
            user.groups.add(group)
        tech, _ = Technician.objects.get_or_create(
            user=user, defaults={"phone": f"+8613{technician_phones + i:09d}", "home_latitude": 31.2,
                                 "home_longitude": 121.5}
        )
        technicians.append(tech)
    return service_type, customers, technicians
