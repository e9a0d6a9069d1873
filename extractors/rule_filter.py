"""One quick test of whether any of a list of rule patterns can match a paragraph.

Most paragraphs match no rule, and testing 50 patterns one by one costs more than the
rest of the cleaner. The patterns' top-level alternatives are joined into two
alternations: those anchored with `^` are tried at the start of the paragraph only
(a paragraph has no newline, so under MULTILINE `^` matches nowhere else), the others
are searched. Joining changes no alternative, so the test says yes exactly when one of
the patterns would match (tests/test_rule_filter.py checks this on generated text).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

_GROUP_NAME = re.compile(r"(?<!\\)\(\?P<\w+>")  # names would clash once patterns are joined
_BACKREFERENCE = re.compile(r"\\[1-9]|\(\?P=")  # group numbers shift once patterns are joined


def top_level_alternatives(pattern: str) -> list[str]:
    """`a|b(c|d)|[|]` -> ["a", "b(c|d)", "[|]"]: split at `|` outside groups and sets."""
    parts, current = [], []
    depth, set_start, escaped = 0, -1, False
    for i, ch in enumerate(pattern):
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif set_start >= 0:
            # `]` first in a set (`[]...]`, `[^]...]`) is a member, not the end
            first = set_start + (2 if pattern[set_start + 1 : set_start + 2] == "^" else 1)
            if ch == "]" and i > first:
                set_start = -1
        elif ch == "[":
            set_start = i
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "|" and depth == 0:
            parts.append("".join(current))
            current = []
            continue
        current.append(ch)
    parts.append("".join(current))
    return parts


class RuleFilter:
    def __init__(self, patterns: Sequence[re.Pattern[str]]) -> None:
        self.patterns = tuple(patterns)
        self._start: re.Pattern[str] | None = None
        self._anywhere: re.Pattern[str] | None = None
        self.joined = self._join()  # False: the patterns are tried one by one

    def _join(self) -> bool:
        if not self.patterns or len({p.flags for p in self.patterns}) > 1:
            return False
        anchored, floating = [], []
        for pattern in self.patterns:
            if _BACKREFERENCE.search(pattern.pattern):
                return False
            for part in top_level_alternatives(_GROUP_NAME.sub("(", pattern.pattern)):
                (anchored if part.startswith("^") else floating).append(f"(?:{part})")
        flags = self.patterns[0].flags
        try:
            self._start = re.compile("|".join(anchored), flags) if anchored else None
            self._anywhere = re.compile("|".join(floating), flags) if floating else None
        except re.error:
            return False
        return True

    def may_match(self, text: str) -> bool:
        """True exactly when some pattern's `search(text)` would find a match."""
        if not self.joined or "\n" in text:
            return any(p.search(text) for p in self.patterns)
        return bool(
            (self._start is not None and self._start.match(text))
            or (self._anywhere is not None and self._anywhere.search(text))
        )
