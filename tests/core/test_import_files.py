"""Uploads that wait between an import's preview and its confirmation: a preview nobody confirms
leaves its file, which beat deletes once it is IMPORT_FILE_MAX_AGE_SECONDS old."""

import os
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from core.imports import IMPORT_FILE_FOLDER, purge_import_files
from core.tasks import import_files_purge

pytestmark = pytest.mark.django_db

CSV = "customer_code,name,phone\nC001,上海华联超市,138 1234 5678\n"


def preview(client):
    page = client.post("/admin/customers/customer/import/", {
        "import_file": SimpleUploadedFile("customers.csv", CSV.encode()), "format": "0"})
    return page.context["confirm_form"].initial["import_file_name"]


def test_an_unconfirmed_upload_is_deleted_once_it_is_older_than_the_limit_and_a_newer_one_kept(client, manager):
    client.force_login(manager)
    old, new = preview(client), preview(client)
    folder = Path(settings.MEDIA_ROOT) / IMPORT_FILE_FOLDER
    assert (folder / old).exists() and (folder / new).exists()

    assert purge_import_files() == 0  # both are fresh
    later = datetime.now(timezone.utc) + timedelta(seconds=settings.IMPORT_FILE_MAX_AGE_SECONDS + 60)
    stamp = (datetime.now(timezone.utc) - timedelta(days=2)).timestamp()
    os.utime(folder / old, (stamp, stamp))

    assert import_files_purge() == 1  # what beat runs
    assert not (folder / old).exists() and (folder / new).exists()
    assert purge_import_files(now=later) == 1
    assert not (folder / new).exists()


def test_a_confirmed_import_left_nothing_to_purge_and_an_empty_store_is_fine(client, manager):
    assert purge_import_files() == 0  # nothing was ever uploaded
    client.force_login(manager)
    name = preview(client)
    client.post("/admin/customers/customer/process_import/", {
        "import_file_name": name, "original_file_name": "customers.csv", "format": "0", "resource": ""})
    assert not (Path(settings.MEDIA_ROOT) / IMPORT_FILE_FOLDER / name).exists()


def test_beat_runs_the_purge_hourly(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["import-files-purge"]
    assert entry["args"] == ("core.tasks.import_files_purge", 3600.0)
