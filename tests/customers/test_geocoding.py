"""core/geocoding.py: addresses to points, offline and through an HTTP geocoder, and bad input."""

import csv
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from core.geocoding import AmapGeocoder, OfflineGeocoder, checked_point, geocode_many, normalize

LABELLED = Path(__file__).resolve().parent.parent / "data" / "geocode_addresses.csv"


def test_an_address_typed_on_the_public_form_is_placed_at_its_district_centre():
    found = OfflineGeocoder().geocode("上海市浦东新区张江路100号")
    assert found.precision == "district"
    assert found.area == "上海市 浦东新区"
    # Pudong's centre, not Shanghai's (31.23, 121.47)
    assert 31.1 < found.latitude < 31.3 and 121.5 < found.longitude < 121.6


def test_short_and_partial_addresses_get_the_smallest_division_found():
    offline = OfflineGeocoder()
    hangzhou, zhejiang, shanghai, district_only = offline.geocode_many(
        ["杭州市文三路90号", "浙江省某某镇", "上海市南京东路299号", "海淀区学院路30号"]
    )
    assert (hangzhou.precision, hangzhou.area) == ("city", "浙江省 杭州市")
    assert (zhejiang.precision, zhejiang.area) == ("province", "浙江省")
    # A municipality's own name is a city.
    assert (shanghai.precision, shanghai.area) == ("city", "上海市")
    assert (district_only.precision, district_only.area) == ("district", "北京市 海淀区")


@pytest.mark.parametrize("address", ["", "   ", "88 Century Avenue", "asdf 123", "🙂🙂", "x" * 300])
def test_an_address_without_any_division_has_no_point(address):
    assert geocode_many([address]) == [None]


def test_full_width_digits_and_spaces_do_not_change_the_answer():
    assert normalize(" 上海市 浦东新区 张江路１００号 ") == "上海市浦东新区张江路100号"
    assert OfflineGeocoder().geocode("上海市 浦东新区") == OfflineGeocoder().geocode("上海市浦东新区")


def test_points_are_checked_against_the_region():
    assert checked_point(31.2, 121.5) == (31.2, 121.5)
    assert checked_point(121.5, 31.2) == (31.2, 121.5)  # swapped: taken the right way round
    assert checked_point(48.85, 2.35) is None  # Paris
    assert checked_point(0, 0) is None
    assert checked_point(float("nan"), 121.5) is None
    assert checked_point("north", "east") is None
    assert checked_point(None, None) is None


def test_an_address_outside_the_configured_region_has_no_point(settings):
    settings.GEOCODER_BOUNDS = (30.6, 120.8, 31.9, 122.2)  # Shanghai only
    shanghai, beijing = geocode_many(["上海市徐汇区虹漕路461号", "北京市朝阳区建国路88号"])
    assert shanghai.precision == "district"
    assert beijing is None


def test_most_labelled_addresses_land_in_their_district():
    """tests/data/geocode_addresses.csv: 243 addresses from 31 provinces with their district
    (bench/geocode_bench.py prints the misses)."""
    rows = list(csv.DictReader(LABELLED.open(encoding="utf-8")))
    assert len(rows) >= 200 and len({r["province"] for r in rows}) >= 20
    found = OfflineGeocoder().geocode_many([r["address"] for r in rows])
    right = sum(
        1 for row, loc in zip(rows, found)
        if loc is not None and loc.area.split()[-1] == row["district"] and loc.area.split()[0] == row["province"]
    )
    assert right / len(rows) >= 0.9


# --- the HTTP geocoder --------------------------------------------------------------------------


class FakeAmap(BaseHTTPRequestHandler):
    """Answers as the AMap geocoder does; ``server.mode`` picks the answer."""

    def do_GET(self):
        self.server.calls.append(self.path)
        mode = self.server.mode
        if mode == "slow":
            time.sleep(2)
        body = {
            "ok": {"status": "1", "info": "OK", "infocode": "10000", "count": "1", "geocodes": [
                {"location": "121.590757,31.204086", "level": "门牌号", "province": "上海市", "city": [],
                 "district": "浦东新区"}]},
            "swapped": {"status": "1", "geocodes": [{"location": "31.204086,121.590757", "level": "门牌号"}]},
            "outside": {"status": "1", "geocodes": [{"location": "2.35,48.85", "level": "门牌号"}]},
            "empty": {"status": "1", "count": "0", "geocodes": []},
            "limited": {"status": "0", "info": "CUQPS_HAS_EXCEEDED_THE_LIMIT", "infocode": "10021"},
            "slow": {"status": "1", "geocodes": []},
        }.get(mode)
        data = b"<html>502 Bad Gateway</html>" if body is None else json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def amap(settings):
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeAmap)
    server.calls, server.mode = [], "ok"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.GEOCODER = "amap"
    settings.GEOCODER_URL = f"http://127.0.0.1:{server.server_address[1]}/v3/geocode/geo"
    settings.GEOCODER_KEY = "test-key"
    settings.GEOCODER_TIMEOUT = 1
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "geo"}}
    from django.core.cache import cache

    cache.clear()
    yield server
    server.shutdown()
    server.server_close()


ADDRESS = "上海市浦东新区张江路100号"


def test_the_http_geocoder_places_an_address_to_the_street_and_asks_once_per_address(amap):
    first = geocode_many([ADDRESS])[0]
    assert (first.latitude, first.longitude, first.precision) == (31.204086, 121.590757, "street")
    assert first.area == "上海市 浦东新区"
    assert "key=test-key" in amap.calls[0]
    # The same address typed differently: answered from the cache.
    again = geocode_many([" 上海市 浦东新区 张江路１００号"])[0]
    assert again == first and len(amap.calls) == 1


def test_swapped_coordinates_from_the_geocoder_are_taken_the_right_way_round(amap):
    amap.mode = "swapped"
    found = geocode_many([ADDRESS])[0]
    assert (found.latitude, found.longitude) == (31.204086, 121.590757)


@pytest.mark.parametrize("mode", ["slow", "garbage", "limited", "outside"])
def test_a_geocoder_that_fails_falls_back_to_the_district_centre(amap, mode):
    amap.mode = mode
    started = time.monotonic()
    found = geocode_many([ADDRESS])[0]
    assert time.monotonic() - started < 1.9  # the timeout, not the slow answer
    assert (found.precision, found.area) == ("district", "上海市 浦东新区")
    # A failure is not cached: the next request asks again.
    amap.mode = "ok"
    assert geocode_many([ADDRESS])[0].precision == "street"


def test_an_address_the_geocoder_does_not_know_falls_back_too(amap):
    amap.mode = "empty"
    assert geocode_many([ADDRESS])[0].precision == "district"
    assert geocode_many(["nowhere at all"]) == [None]


def test_an_unreachable_geocoder_falls_back(settings, amap):
    settings.GEOCODER_URL = "http://127.0.0.1:9/v3/geocode/geo"  # nothing listens there
    assert AmapGeocoder().geocode(ADDRESS).precision == "district"
