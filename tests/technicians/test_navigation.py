"""The technician's job page opens the site in the phone's map apps and calls the customer."""

from decimal import Decimal

import pytest
from django.urls import reverse

from tests.factories import SiteFactory

from .helpers import job_for

pytestmark = pytest.mark.django_db


def job_page(client, technician, **site):
    wo = job_for(technician, site=SiteFactory(**site), contact_phone="+8613812345678")
    client.force_login(technician.user)
    return wo, client.get(reverse("tech:job", args=[wo.pk])).content.decode()


def test_a_site_with_an_exact_point_is_navigated_to_by_its_coordinates_in_four_apps(client, technician):
    wo, html = job_page(client, technician, address="上海市浦东新区张江路100号", latitude=Decimal("31.204086"),
                        longitude=Decimal("121.590757"), location_precision="manual")
    assert "https://uri.amap.com/navigation?to=121.590757,31.204086," in html
    assert "https://api.map.baidu.com/direction?destination=latlng:31.204086,121.590757|" in html
    assert "coord_type=gcj02" in html
    assert "https://maps.apple.com/?daddr=31.204086,121.590757" in html
    assert "https://www.google.com/maps/dir/?api=1&amp;destination=31.204086,121.590757" in html
    assert "geo:31.204086,121.590757" in html
    assert 'href="tel:+8613812345678"' in html and "Call" in html


def test_a_site_placed_only_at_its_district_centre_is_searched_by_its_address(client, technician):
    wo, html = job_page(client, technician, address="上海市浦东新区张江路100号", latitude=Decimal("31.221517"),
                        longitude=Decimal("121.544379"), location_precision="district")
    assert "31.221517" not in html  # the centre of Pudong is not where the customer lives
    assert "https://uri.amap.com/search?keyword=%E4%B8%8A%E6%B5%B7" in html
    assert "https://maps.apple.com/?daddr=%E4%B8%8A%E6%B5%B7" in html
    assert "its exact point is not known yet" in html


def test_the_links_are_in_chinese_too(client, technician):
    wo = job_for(technician)
    client.force_login(technician.user)
    html = client.get(reverse("tech:job", args=[wo.pk]), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "高德地图" in html and "百度地图" in html and "的电话" in html
