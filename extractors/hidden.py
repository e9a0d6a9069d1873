"""Drop what a browser would not show before extraction sees the page.

Anti-copy schemes hide noise in the markup (Discuz! `<font class="jammer">`, spans with
`display:none`) that text extractors happily keep; elements marked `hidden`,
`aria-hidden` or styled invisible go too.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from lxml import etree
from lxml.html import HtmlElement

_INVISIBLE_STYLE = re.compile(
    r"display\s*:\s*none|visibility\s*:\s*hidden|font-size\s*:\s*0(?:px|em|pt)?\s*(?:;|$)", re.I
)
_HIDDEN_CLASSES = frozenset({"jammer", "hidden", "sr-only", "visually-hidden", "d-none", "hide"})
_DROP_TAGS = frozenset({"script", "style", "noscript", "template"})


def strip_hidden(
    root: HtmlElement, visit: Callable[[HtmlElement, str, list[str]], None] | None = None
) -> int:
    """Remove invisible elements in place (keeping their tail text); returns how many.
    `visit(element, tag, attribute names)` sees every element but the dropped tags on the
    way (the author search: one walk over the page instead of two)."""
    doomed = []
    for el in root.iter(etree.Element):
        tag = el.tag
        if tag in _DROP_TAGS:
            doomed.append(el)
            continue
        keys = el.keys()
        if keys:
            get = el.get  # every element is visited: attributes read once each
            style, classes = get("style"), get("class")
            if (
                (classes is not None and not _HIDDEN_CLASSES.isdisjoint(classes.lower().split()))
                or (style is not None and _INVISIBLE_STYLE.search(style))
                or get("hidden") is not None
                or get("aria-hidden") == "true"
            ) and tag not in ("html", "body"):
                doomed.append(el)
        if visit is not None:
            visit(el, tag, keys)
    for el in doomed:
        parent = el.getparent()
        if parent is None:
            continue
        if el.tail:
            prev = el.getprevious()
            if prev is not None:
                prev.tail = (prev.tail or "") + el.tail
            else:
                parent.text = (parent.text or "") + el.tail
        parent.remove(el)
    return len(doomed)
