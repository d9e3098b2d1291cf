"""The customer's satisfaction survey at /survey/<token>/: a phone, no login.

Thin: the form parses, ``workorders.survey.survey_answer`` decides, these render.
A wrong, expired or used link gets a polite page and changes nothing.
"""

from django import forms
from django.conf import settings
from django.shortcuts import render
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from core.errors import ApplicationError, Conflict, InvalidInput, NotFound

from ..survey import survey_answer, survey_for_token, survey_state


class SurveyForm(forms.Form):
    satisfaction = forms.TypedChoiceField(
        label=_("How satisfied are you with the service?"), coerce=int, widget=forms.RadioSelect,
        choices=[(5, _("5 – Very satisfied")), (4, _("4 – Satisfied")), (3, _("3 – Neutral")),
                 (2, _("2 – Dissatisfied")), (1, _("1 – Very dissatisfied"))],
    )
    solved = forms.TypedChoiceField(
        label=_("Was the problem solved?"), widget=forms.RadioSelect, coerce=lambda v: v == "yes",
        choices=[("yes", _("Yes")), ("no", _("No"))],
    )
    recommend = forms.TypedChoiceField(
        label=_("How likely are you to recommend us to a friend?"),
        coerce=int, required=False, empty_value=None, widget=forms.RadioSelect(attrs={"class": "scale"}),
        choices=[(n, str(n)) for n in range(11)],
    )
    comment = forms.CharField(label=_("Anything else you would like to tell us?"), required=False, max_length=2000,
                              widget=forms.Textarea(attrs={"rows": 4}))


def _language(request, survey) -> str:
    # The language the customer was written to, unless they chose another on the page.
    return request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME) or survey.language


def _closed_page(request, reason: str, *, status: int):
    response = render(request, "workorders/survey/unavailable.html", {"reason": reason}, status=status)
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


@never_cache
@require_http_methods(["GET", "POST"])
def survey_page(request, token):
    survey = survey_for_token(token)
    if survey is None:
        return _closed_page(request, "unknown", status=404)
    with translation.override(_language(request, survey)):
        state = survey_state(survey)
        if state != "open":
            return _closed_page(request, state, status=200 if state == "answered" else 410)
        form = SurveyForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                answered = survey_answer(token=token, **form.cleaned_data)
            except (Conflict, NotFound) as exc:
                return _closed_page(request, "answered" if exc.code == "survey_answered" else "expired",
                                    status=exc.status_code)
            except InvalidInput as exc:
                for field, messages in (exc.fields or {}).items():
                    for message in messages:
                        form.add_error(field if field in form.fields else None, str(message))
            except ApplicationError as exc:  # pragma: no cover - any other refusal, shown as it is
                form.add_error(None, str(exc.message))
            else:
                return render(request, "workorders/survey/thanks.html",
                              {"work_order": survey.work_order, "low": answered.is_low})
        response = render(request, "workorders/survey/form.html",
                          {"form": form, "survey": survey, "work_order": survey.work_order},
                          status=400 if form.errors else 200)
        response["X-Robots-Tag"] = "noindex, nofollow"
        return response
