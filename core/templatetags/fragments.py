"""``{% rolefragment %}…{% endrolefragment %}``: markup rendered once per role set and language.

The navigation bar of every page is a dozen ``{% url %}`` and ``{% translate %}``
tags whose output depends only on who is asking (their roles, staff and
superuser flags), the language and the URL configuration. This tag renders its
content once for each such combination and keeps the result in the template
node (so a template reloaded in development starts afresh).

The content may read only what the key covers: ``user.is_authenticated``,
``user.is_staff``, ``user.is_superuser``, the variables of
``core.context_processors.roles`` (``user_roles``, ``is_office``, ...) and the
language. Anything that varies by request (``{% csrf_token %}``, the username,
the current path, messages) goes outside the fragment, and so does any ``{% block %}``
(refused). The role flags and the user are read once per rendering, by its first
fragment: do not rebind them (``{% with %}``, ``{% for user in ... %}``) around a fragment.

Why not Django's ``{% cache %}`` with a local-memory cache keyed by the same things (issue 13's
stock-tools track, docs/operations.md "Stock tools"): the staff list's page template (base.html
and the queue's fixed parts) rendered in 0.50 ms with this tag and 0.99 ms with ``{% cache %}``,
even with its one-``{% trans %}`` fragments left uncached (+0.49 ms, about +16 % of the page's
CPU; whole requests +0.5-0.8 ms on the staff list and detail). A ``{% cache %}`` lookup costs a
key hash, a lock and an unpickling per fragment, and ``{% extends %}`` walks into its nodelist
looking for blocks on every rendering; this tag keeps a dict lookup and hides its nodes.
"""

from django import template
from django.template.loader_tags import BlockNode
from django.urls import get_script_prefix, get_urlconf
from django.utils import translation

register = template.Library()

# What core.context_processors.roles sets.
ROLE_VARIABLES = ("user_roles", "is_office", "is_field", "is_manager", "is_dispatcher")
MAX_VARIANTS = 256  # a bound on memory; role sets × languages are a handful in practice


class _WhoKey:
    """The render-context key under which a page's fragments share the part of their key that
    cannot change during one rendering (a page has half a dozen fragments)."""


WHO_KEY = _WhoKey()


class RoleFragmentNode(template.Node):
    # Not searched by get_nodes_by_type(): {% extends %} walks the parent template's nodes on
    # every rendering looking for {% block %} tags, and there are none in a fragment (refused
    # when the template is compiled, see rolefragment below).
    child_nodelists = ()

    def __init__(self, nodelist):
        self.nodelist = nodelist
        self.rendered = {}

    def key(self, context):
        # Who is asking, the role flags, the URL configuration and script prefix are the same
        # for all the fragments of one rendering: worked out by the first and kept in the render
        # context (which {% extends %} shares with the parent template, and an {% include %}d
        # template gets afresh). The language is read each time ({% language %} may change it).
        render_context = context.render_context
        who = render_context.get(WHO_KEY)
        if who is None:
            user = context.get("user")
            if user is None or not user.is_authenticated:
                person = None
            else:
                person = (user.is_superuser, user.is_staff)
            # The flags as this context has them (a page rendered without the roles context
            # processor has none, and gets a fragment of its own).
            flags = tuple(context.get(name) for name in ROLE_VARIABLES)
            who = render_context[WHO_KEY] = (person, flags, get_urlconf(), get_script_prefix())
        return who, translation.get_language()

    def render(self, context):
        key = self.key(context)
        try:
            return self.rendered[key]
        except KeyError:
            pass
        html = self.nodelist.render(context)
        if len(self.rendered) >= MAX_VARIANTS:
            self.rendered = {}
        self.rendered[key] = html
        return html


@register.tag
def rolefragment(parser, token):
    if len(token.split_contents()) != 1:
        raise template.TemplateSyntaxError("rolefragment takes no arguments")
    nodelist = parser.parse(("endrolefragment",))
    parser.delete_first_token()
    if nodelist.get_nodes_by_type(BlockNode):
        raise template.TemplateSyntaxError("a {% block %} cannot be inside a rolefragment")
    return RoleFragmentNode(nodelist)
