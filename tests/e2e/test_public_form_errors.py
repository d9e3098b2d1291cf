"""Bad input in the browser: the public request form with no phone number and a photo too large."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from tests.factories import ServiceTypeFactory
from workorders.models import Attachment, WorkOrder

from .support import csp_violations, foreign_requests, oversized_png, untranslated

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_a_form_with_no_phone_and_a_photo_too_large_shows_both_errors_and_keeps_what_was_typed(
    language, people, screenshots, axe, tmp_path
):
    # Given a customer on a phone, whose browser speaks ``language``
    service = ServiceTypeFactory(code="ac-repair", name="空调维修" if language == "zh-hans" else "Air conditioner repair")
    customer = people.open("customer", "phone", language)
    page = customer.page
    big = oversized_png(tmp_path / "leak.png", megabytes=settings.PHOTO_MAX_BYTES / (1024 * 1024) + 1)
    typed = {
        "#id_contact_name": "王芳" if language == "zh-hans" else "Fang Wang",
        "#id_contact_email": "fang.wang@example.com",
        "#id_address": "上海市浦东新区世纪大道88号 12楼" if language == "zh-hans" else "88 Century Avenue, floor 12",
        "#id_description": "空调漏水，声音很大。" if language == "zh-hans" else "The air conditioner drips and is loud.",
    }
    tomorrow = timezone.localtime() + timedelta(days=1)
    window = (tomorrow.strftime("%Y-%m-%dT09:00"), tomorrow.strftime("%Y-%m-%dT12:00"))

    # When they fill in everything but the phone, attach a photo over the limit and send
    customer.go("/request/")
    for selector, value in typed.items():
        page.fill(selector, value)
    page.select_option("#id_service_type", str(service.pk))
    page.select_option("#id_priority", str(WorkOrder.Priority.HIGH))
    page.fill("#id_preferred_start", window[0])
    page.fill("#id_preferred_end", window[1])
    page.set_input_files("#id_photos", str(big))
    page.click("form.intake-form button[type=submit]")

    # Then the browser itself stops at the empty phone field (nothing is sent) ...
    assert page.url.endswith("/request/")
    assert page.eval_on_selector("#id_contact_phone", "el => el.validity.valueMissing") is True
    assert WorkOrder.objects.count() == 0

    # ... and a browser that does not check forms (or a customer who gets past it) meets the
    # server's own checks: the form is sent as it is, without the browser's validation.
    page.eval_on_selector("form.intake-form", "form => { form.noValidate = true; }")
    with page.expect_navigation():
        page.click("form.intake-form button[type=submit]")
    screenshots.take(customer, "form-errors")

    with translation.override(language):
        required = _("This field is required.")
        too_big = _("%(name)s is larger than %(mb)d MB.") % {"name": big.name, "mb": settings.PHOTO_MAX_BYTES // 2**20}
        photos_again = _("For your safety, photos are not kept when the form has errors: please choose them again.")
    # each error is beside its own field
    assert page.inner_text("#field-contact_phone .errorlist").strip() == required
    assert page.inner_text("#field-photos .errorlist").strip() == too_big
    assert page.locator(".field.has-error").count() == 2
    assert page.get_attribute("#id_contact_phone", "aria-invalid") == "true"
    # what was typed is still there (a file input cannot be refilled; the page says so)
    for selector, value in typed.items():
        assert page.input_value(selector) == value, selector
    assert page.input_value("#id_service_type") == str(service.pk)
    assert page.input_value("#id_priority") == str(WorkOrder.Priority.HIGH)
    assert (page.input_value("#id_preferred_start"), page.input_value("#id_preferred_end")) == window
    assert page.get_by_text(photos_again).is_visible()
    # and nothing was saved
    assert WorkOrder.objects.count() == 0 and Attachment.objects.count() == 0

    # The page with its errors is in the customer's language and passes axe-core
    assert untranslated(page, language=language, data=[*typed.values(), service.name, big.name]) == []
    assert axe(page) == []

    # When they add the phone number and choose a photo of a normal size
    page.fill("#id_contact_phone", "138 1234 5678")
    page.set_input_files("#id_photos", [])
    with page.expect_navigation():
        page.click("form.intake-form button[type=submit]")

    # Then the request goes through with what they typed the first time
    assert "/request/done/" in page.url
    order = WorkOrder.objects.get()
    assert (order.contact_name, order.contact_phone, order.priority) == (
        typed["#id_contact_name"], "+8613812345678", WorkOrder.Priority.HIGH)
    assert foreign_requests(people.all) == []
    assert csp_violations(people.all) == [], "the pages keep the site's Content-Security-Policy"
    assert customer.script_errors == []
