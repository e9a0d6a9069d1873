"""Unicode repair hands only lines that are not printable ASCII to ftfy: the result is
what ftfy gives for the whole text."""

from __future__ import annotations

import unicodedata

import ftfy
from hypothesis import given, settings
from hypothesis import strategies as st

from extractors.clean import normalise_unicode

PIECES = (
    "plain words", " ", "\t", "\n", "\r", "\r\n", "\u2028", "\x85", "Ã©", "â€™", "ï¬", "ﬁ",
    "ＡＢＣ", "\x1b[31m", "\x00", "\x0c", "\x7f", "é", "e\u0301", "’", "“", "中文", "，",
    "~", "&amp;", "Â ", "Ã",
)  # fmt: skip


def whole_text_ftfy(text: str) -> str:
    fixed = ftfy.fix_text(text, unescape_html=False, uncurl_quotes=False, fix_line_breaks=True)
    return unicodedata.normalize("NFC", fixed)


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=20).map("".join))
def test_same_as_ftfy_on_the_whole_text(text: str) -> None:
    assert normalise_unicode(text) == whole_text_ftfy(text)


def test_ascii_lines_are_kept_and_others_repaired() -> None:
    text = "An ASCII line\nCafÃ© au lait\nTabs\tstay\n"
    assert normalise_unicode(text) == "An ASCII line\nCafé au lait\nTabs\tstay\n"
