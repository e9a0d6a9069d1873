"""Drop what a browser would not show before extraction sees the page.

Anti-copy schemes hide noise in the markup (Discuz! `<font class="jammer">`, spans with
`display:none`) that text extractors happily keep; elements marked `hidden`,
`aria-hidden` or styled invisible go too.
"""

from __future__ import annotations

import re

from lxml import etree
from lxml.html import HtmlElement

_INVISIBLE_STYLE = re.compile(
    r"display\s*:\s*none|visibility\s*:\s*hidden|font-size\s*:\s*0(?:px|em|pt)?\s*(?:;|$)", re.I
)
_HIDDEN_CLASSES = frozenset({"jammer", "hidden", "sr-only", "visually-hidden", "d-none", "hide"})
_DROP_TAGS = ("script", "style", "noscript", "template")


def _is_hidden(el: HtmlElement) -> bool:
    if el.get("hidden") is not None or el.get("aria-hidden") == "true":
        return True
    style = el.get("style")
    if style and _INVISIBLE_STYLE.search(style):
        return True
    classes = el.get("class")
    return bool(classes) and not _HIDDEN_CLASSES.isdisjoint(classes.lower().split())


def strip_hidden(root: HtmlElement) -> int:
    """Remove invisible elements in place (keeping their tail text); returns how many."""
    doomed = [
        el
        for el in root.iter(etree.Element)
        if el.tag in _DROP_TAGS or (el.tag not in ("html", "body") and _is_hidden(el))
    ]
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
