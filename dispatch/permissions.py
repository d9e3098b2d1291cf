"""Who may use the dispatch board and its API (core/permissions.py)."""

from django.utils.translation import gettext_lazy as _

from core.permissions import role, rule
from core import roles as R

# The board, its JSON actions and the dispatch API (suggestions, automatic assignment, routes).
rule("dispatch.use_board", role(R.DISPATCHER, R.MANAGER),
     message=_("The dispatch board is for dispatchers and managers."))
