"""Cleaning: rule packs, then what this site repeats on every page, with an audit trail.

Works on the extracted text as a list of paragraphs. Every character that goes is
recorded as a `Removal` with its span in the extracted text and the rule that took
it; the clean text is what is left, paragraphs joined by newlines. The cleaner only
ever deletes, and running it on its own output changes nothing.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import compress

from extractors.model import Removal
from extractors.rule_filter import RuleFilter
from extractors.rules import Rule, RuleSet

PAGE_REPEAT_MIN = 3  # paragraphs of one page ending with the same piece: a watermark
PAGE_REPEAT_SHARE = 0.1
REPEAT_MIN_CHARS = 40  # a block of paragraphs repeated on one page is a duplicate when it
REPEAT_MIN_BLOCK = 3  # starts with a paragraph this long and runs this many paragraphs
_ONLY_PUNCT = re.compile(r"^[\W_]*$")
_SPACES = re.compile(r"[ \t\u3000]{2,}")
_PRINTABLE_ASCII = re.compile(r"[\t\x20-\x7e]*\n?")


@dataclass
class Paragraph:
    """A paragraph of the extracted text: the offsets of the characters still kept."""

    start: int  # offset of the paragraph in the extracted text
    source: str  # the paragraph as extracted
    keep: list[bool] = field(default_factory=list)
    _kept: str | None = field(default=None, repr=False, compare=False)  # `kept`, until a drop

    def __post_init__(self) -> None:
        if not self.keep:
            self.keep = [True] * len(self.source)

    @property
    def kept(self) -> str:
        """The kept characters, edges not stripped."""
        if self._kept is None:
            self._kept = "".join(compress(self.source, self.keep))
        return self._kept

    @property
    def text(self) -> str:
        return self.kept.strip()

    def drop(self, positions: Iterable[int]) -> None:
        for k in positions:
            self.keep[k] = False
        self._kept = None

    @property
    def alive(self) -> bool:
        return bool(self.text)


@dataclass(frozen=True)
class SiteRules:
    """What a site profile has learned is boilerplate on one site."""

    lines: frozenset[str] = frozenset()
    prefixes: tuple[str, ...] = ()
    suffixes: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.lines or self.prefixes or self.suffixes)


@dataclass
class CleanResult:
    text: str
    paragraphs: list[str]
    removed: list[Removal]
    meta: dict[str, str]


def normalise_unicode(text: str) -> str:
    """Unicode repair (ftfy: mojibake, HTML entities, odd quotes kept) then NFC."""
    import ftfy

    # ftfy fixes line by line; a line of printable ASCII is one no step of it changes
    # (no mojibake, controls, ligatures, wide forms or odd line breaks), so only the
    # other lines are handed to it.
    lines = text.split("\n")
    segments = [line + "\n" for line in lines[:-1]] + ([lines[-1]] if lines[-1] else [])
    fixed = "".join(
        segment
        if _PRINTABLE_ASCII.fullmatch(segment) or _untouched_by_ftfy(segment)
        else ftfy.fix_text(segment, unescape_html=False, uncurl_quotes=False, fix_line_breaks=True)
        for segment in segments
    )
    return unicodedata.normalize("NFC", fixed)


# The fixes ftfy applies after its mojibake step, in its order, with warcflow's settings
# (uncurl_quotes off).
_FTFY_FIXES = (
    "fix_c1_controls",
    "fix_latin_ligatures",
    "fix_character_width",
    "fix_line_breaks",
    "fix_surrogates",
    "remove_terminal_escapes",
    "remove_control_chars",
)


def _untouched_by_ftfy(segment: str) -> bool:
    """True when ftfy would return the line unchanged: it does not look like mojibake and
    one round of ftfy's other fixes and NFC changes nothing (ftfy's own first round, without
    its per-call set-up; anything else goes to ftfy itself)."""
    from ftfy import FIXERS
    from ftfy.badness import is_bad

    if is_bad(segment):
        return False
    fixed = segment
    for name in _FTFY_FIXES:
        fixed = FIXERS[name](fixed)
    return unicodedata.normalize("NFC", fixed) == segment


def split_paragraphs(text: str) -> list[Paragraph]:
    out, offset = [], 0
    for line in text.split("\n"):
        if line.strip():
            out.append(Paragraph(offset, line))
        offset += len(line) + 1
    return out


@dataclass
class Decisions:
    """What the rule packs decide about a paragraph's text, remembered for one `clean`
    call: its passes, run to a fixed point, mostly see the same paragraphs again."""

    block: dict[str, Rule | None] = field(default_factory=dict)
    line: dict[str, tuple[Rule, re.Match[str]] | None] = field(default_factory=dict)
    span: dict[str, bool] = field(default_factory=dict)
    any: dict[str, bool] = field(default_factory=dict)


class Cleaner:
    def __init__(self, rules: RuleSet) -> None:
        self.rules = rules
        self._lines = rules.by_scope("line")
        self._blocks = rules.by_scope("block")
        self._spans = rules.by_scope("span")
        self._line_filter = RuleFilter([r.pattern for r in self._lines])
        self._block_filter = RuleFilter([r.pattern for r in self._blocks])
        self._span_filter = RuleFilter([r.pattern for r in self._spans])
        # Most paragraphs match no rule at all: one test rules out all three scopes.
        self._any_filter = RuleFilter([r.pattern for r in rules.rules])

    def _may_match_any(self, text: str, memo: Decisions) -> bool:
        if text not in memo.any:
            memo.any[text] = self._any_filter.may_match(text)
        return memo.any[text]

    def _block_rule(self, text: str, memo: Decisions) -> Rule | None:
        """The first block rule matching the paragraph."""
        if text not in memo.block:
            memo.block[text] = (
                next((r for r in self._blocks if r.pattern.search(text)), None)
                if self._may_match_any(text, memo) and self._block_filter.may_match(text)
                else None
            )
        return memo.block[text]

    def _line_rule(self, text: str, memo: Decisions) -> tuple[Rule, re.Match[str]] | None:
        """The first line rule matching the paragraph, and its match."""
        if text not in memo.line:
            found = None
            if self._may_match_any(text, memo) and self._line_filter.may_match(text):
                for rule in self._lines:
                    match = rule.pattern.search(text)
                    if match:
                        found = (rule, match)
                        break
            memo.line[text] = found
        return memo.line[text]

    def apply_rules(
        self,
        paragraphs: list[Paragraph],
        removed: list[Removal],
        meta: dict[str, str],
        memo: Decisions | None = None,
    ) -> None:
        """Rule packs: blocks, whole lines, then spans inside the survivors."""
        memo = Decisions() if memo is None else memo
        i = 0
        seen: set[str] = set()
        while i < len(paragraphs):
            para = paragraphs[i]
            text = para.text  # built once: it is read by every rule below
            if not text:
                i += 1
                continue
            block = self._block_rule(text, memo)
            if block is not None and block.skip_first and block.id not in seen:
                seen.add(block.id)
                block = None
            if block is not None:
                _drop(para, block.id, block.family, removed)
                j = i + 1
                while j < len(paragraphs) and j - i <= block.max_follow:
                    nxt = paragraphs[j]
                    if (
                        nxt.alive
                        and block.follow is not None
                        and block.follow.search(nxt.text)
                        and not self._starts_own_rule(nxt.text, memo)
                    ):
                        _drop(nxt, block.id, block.family, removed)
                        j += 1
                    else:
                        break
                i = j
                continue
            found = self._line_rule(text, memo)
            if found is not None:
                rule, match = found
                if rule.meta:
                    value = next(
                        (v for k, v in match.groupdict().items() if k.startswith("value") and v),
                        None,
                    )
                    if value:
                        meta.setdefault(rule.meta, value.strip())
                _drop(para, rule.id, rule.family, removed)
            i += 1
        for para in paragraphs:
            text = para.text
            if not text:
                continue
            if text not in memo.span:
                memo.span[text] = self._may_match_any(text, memo) and self._span_filter.may_match(
                    text
                )
            if memo.span[text]:
                view = _visible(para)
                for rule in self._spans:
                    if rule.pattern.search(view[1]) and _cut_matches(para, rule, removed, view):
                        view = _visible(para)

    def _starts_own_rule(self, text: str, memo: Decisions) -> bool:
        """A paragraph another block or line rule claims ends the current block."""
        return self._block_rule(text, memo) is not None or self._line_rule(text, memo) is not None

    def apply_site(
        self, paragraphs: list[Paragraph], site: SiteRules, removed: list[Removal]
    ) -> None:
        if site.empty:
            return
        for para in paragraphs:
            if not para.alive:
                continue
            if para.text in site.lines:
                _drop(para, "profile.line", "profile", removed)
                continue
            for suffix in site.suffixes:
                _cut_edge(para, suffix, "profile.suffix", removed, at_end=True)
            for prefix in site.prefixes:
                _cut_edge(para, prefix, "profile.prefix", removed, at_end=False)

    def apply_title(self, paragraphs: list[Paragraph], title: str | None, removed: list[Removal]):  # type: ignore[no-untyped-def]
        if not title:
            return
        first = next((p for p in paragraphs if p.alive), None)
        if first is not None and _same(first.text, title):
            _drop(first, "title.repeat", "title", removed)

    def tidy(self, paragraphs: list[Paragraph], removed: list[Removal]) -> None:
        for para in paragraphs:
            if para.alive and _ONLY_PUNCT.match(para.text):
                _drop(para, "tidy.empty", "tidy", removed)
            elif para.alive:
                _collapse_spaces(para)

    def clean(
        self,
        text: str,
        title: str | None = None,
        site: SiteRules | None = None,
    ) -> CleanResult:
        paragraphs = split_paragraphs(text)
        removed: list[Removal] = []
        meta: dict[str, str] = {}
        memo = Decisions()
        # One cut can expose more boilerplate (an anti-copy code cut out of a forum header
        # line, a watermark cut off a heading): passes repeat until one changes nothing, so
        # the result is a fixed point and cleaning the clean text changes nothing.
        while True:
            before = _kept_count(paragraphs)
            self.apply_rules(paragraphs, removed, meta, memo)
            self.apply_title(paragraphs, title, removed)
            if site is not None:
                self.apply_site(paragraphs, site, removed)
            self.apply_page_repeats(paragraphs, removed)
            self.tidy(paragraphs, removed)
            if _kept_count(paragraphs) == before:
                break
        kept = [p.text for p in paragraphs if p.alive]
        removed.sort(key=lambda r: r.start)
        return CleanResult("\n".join(kept), kept, removed, meta)

    def apply_page_repeats(self, paragraphs: list[Paragraph], removed: list[Removal]) -> None:
        """What one page repeats: a watermark appended to many of its paragraphs (learned
        from this page alone, as a site profile learns across pages), and a paragraph that
        appears a second time (a page that carries its article twice)."""
        from extractors.profiles import candidates

        alive = [p for p in paragraphs if p.alive]
        counts: dict[str, int] = {}
        for para in alive:
            for kind, piece in candidates([para.text]):
                if kind == "suffix":
                    counts[piece] = counts.get(piece, 0) + 1
        need = max(PAGE_REPEAT_MIN, math.ceil(PAGE_REPEAT_SHARE * len(alive)))
        for suffix in sorted(
            (p for p, n in counts.items() if n >= need), key=lambda p: (-len(p), p)
        ):
            for para in alive:
                if para.alive:
                    _cut_edge(para, suffix, "page.suffix", removed, at_end=True, family="page")
        # A repeated block (the article printed twice) goes; a single repeated line (a
        # recipe step, an interview question) may be the article and stays.
        alive = [p for p in alive if p.alive]
        texts = [p.text for p in alive]
        first_seen: dict[str, int] = {}
        i = 0
        while i < len(texts):
            j = first_seen.get(texts[i])
            if j is not None and len(texts[i]) >= REPEAT_MIN_CHARS:
                run = 0
                while i + run < len(texts) and j + run < i and texts[i + run] == texts[j + run]:
                    run += 1
                if run >= REPEAT_MIN_BLOCK:
                    for para in alive[i : i + run]:
                        _drop(para, "page.repeat", "page", removed)
                    i += run
                    continue
            first_seen.setdefault(texts[i], i)
            i += 1


def rule_paragraphs(cleaner: Cleaner, text: str, title: str | None) -> list[str]:
    """Paragraphs after the rule packs only: what site profiles learn from."""
    paragraphs = split_paragraphs(text)
    memo = Decisions()
    while True:  # to a fixed point, as in `Cleaner.clean`
        before = _kept_count(paragraphs)
        cleaner.apply_rules(paragraphs, [], {}, memo)
        cleaner.apply_title(paragraphs, title, [])
        if _kept_count(paragraphs) == before:
            break
    return [p.text for p in paragraphs if p.alive]


def _same(a: str, b: str) -> bool:
    norm = lambda s: re.sub(r"\s+", "", s).casefold()  # noqa: E731
    return norm(a) == norm(b)


def _kept_count(paragraphs: list[Paragraph]) -> int:
    return sum(len(p.kept) for p in paragraphs)


def _kept_positions(para: Paragraph) -> list[int]:
    return [i for i, k in enumerate(para.keep) if k]


def _record(para: Paragraph, idx: list[int], rule: str, family: str, removed: list[Removal]):  # type: ignore[no-untyped-def]
    """Mark source positions `idx` removed, one Removal per contiguous run."""
    idx = [i for i in idx if para.keep[i]]
    if not idx:
        return
    run_start = prev = idx[0]
    for i in [*idx[1:], None]:
        if i is not None and i == prev + 1:
            prev = i
            continue
        piece = para.source[run_start : prev + 1]
        if piece.strip():
            removed.append(
                Removal(para.start + run_start, para.start + prev + 1, piece, rule, family)
            )
        para.drop(range(run_start, prev + 1))
        if i is not None:
            run_start = prev = i


def _drop(para: Paragraph, rule: str, family: str, removed: list[Removal]) -> None:
    _record(para, _kept_positions(para), rule, family, removed)


def _visible(para: Paragraph) -> tuple[list[int], str]:
    """The kept characters as the clean text will show them (edges stripped), and their
    positions in the paragraph: anchored patterns (`^#` headings) then see the same text
    whether cleaning for the first time or again."""
    positions = _kept_positions(para)
    visible = para.kept
    lead = len(visible) - len(visible.lstrip())
    stripped = visible.strip()
    return positions[lead : lead + len(stripped)], stripped


def _cut_matches(
    para: Paragraph, rule: Rule, removed: list[Removal], view: tuple[list[int], str]
) -> bool:
    """Cut the rule's matches (keeping capture groups); True if anything was cut."""
    positions, visible = view
    doomed: list[int] = []
    for match in rule.pattern.finditer(visible):
        keep_spans = [match.span(g) for g in range(1, (match.lastindex or 0) + 1)]
        keep = {k for s, e in keep_spans if s >= 0 for k in range(s, e)}
        doomed.extend(positions[k] for k in range(match.start(), match.end()) if k not in keep)
    _record(para, doomed, rule.id, rule.family, removed)
    return bool(doomed)


def _cut_edge(  # type: ignore[no-untyped-def]
    para: Paragraph,
    piece: str,
    rule: str,
    removed: list[Removal],
    at_end: bool,
    family: str = "profile",
):
    visible = para.kept
    stripped = visible.rstrip() if at_end else visible.lstrip()
    if len(stripped) <= len(piece):
        return
    if at_end and stripped.endswith(piece):
        end = len(stripped)
        positions = _kept_positions(para)
        _record(para, positions[end - len(piece) : end], rule, family, removed)
    elif not at_end and stripped.startswith(piece):
        begin = len(visible) - len(stripped)
        positions = _kept_positions(para)
        _record(para, positions[begin : begin + len(piece)], rule, family, removed)


def _collapse_spaces(para: Paragraph) -> None:
    """Squeeze runs of spaces left where a span was cut (whitespace only; not audited)."""
    visible = para.kept
    if _SPACES.search(visible) is None:
        return
    positions = _kept_positions(para)
    doomed = [
        positions[k] for m in _SPACES.finditer(visible) for k in range(m.start() + 1, m.end())
    ]
    para.drop(doomed)
