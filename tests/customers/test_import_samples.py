"""The sample files in docs/samples/ (scripts/make_import_samples.py) import as the README says."""

from pathlib import Path

import pytest
from django.conf import settings

from core.imports import SniffedCSV
from customers.models import Customer, Equipment, Site
from customers.resources import CustomerResource, EquipmentResource, SiteResource

pytestmark = pytest.mark.django_db

SAMPLES = Path(settings.BASE_DIR) / "docs" / "samples"


def run(resource, name, *, dry_run=False):
    dataset = SniffedCSV().create_dataset((SAMPLES / name).read_bytes())
    return resource.import_data(dataset, dry_run=dry_run, rollback_on_validation_errors=True)


def test_customers_sites_and_equipment_import_cleanly_and_a_second_time_change_nothing():
    result = run(CustomerResource(), "customers.csv")
    assert not result.has_errors() and not result.has_validation_errors()
    assert Customer.objects.count() == result.totals["new"] >= 1000
    for resource, name, model in ((SiteResource(), "sites.csv", Site), (EquipmentResource(), "equipment.csv", Equipment)):
        result = run(resource, name)
        assert not result.has_errors() and not result.has_validation_errors(), [r.error_dict for r in result.invalid_rows][:3]
        assert model.objects.count() == result.totals["new"] >= 1000

    again = run(CustomerResource(), "customers-gbk.csv", dry_run=True)
    assert again.totals["skip"] == 200 and again.totals["new"] == again.totals["update"] == 0


def test_the_file_with_errors_names_each_bad_row_and_imports_nothing():
    result = run(CustomerResource(), "customers-with-errors.csv")
    bad = {(row.number + 1, column) for row in result.invalid_rows for column in row.field_specific_errors}
    assert bad == {
        (5, "phone"), (9, "phone"), (13, "customer_code"), (17, "name"), (21, "tier"), (25, "name"),
        (29, "email"), (32, "phone"),
    }
    assert Customer.objects.count() == 0
