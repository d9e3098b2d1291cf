"""Who reads what in the knowledge base beyond its articles (core/permissions.py). Which articles a
user reads is their audience (``selectors``: public, staff, technicians)."""

from core.permissions import is_office, rule

# An article's revision history (who changed what, when): the office.
rule("knowledge.read_history", is_office)
