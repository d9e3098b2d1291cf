from . import selectors


def calendar_gaps(request):
    """``calendar_gaps`` for the managers' banner in base.html: the function itself, which the
    template calls only when it asks (after ``is_manager``), so no other page pays for it."""
    return {"calendar_gaps": selectors.calendar_gaps}
