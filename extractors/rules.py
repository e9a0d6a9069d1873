"""Rule packs: readable TOML files in `extractors/rules/`, one per family of boilerplate.

Each rule has an id, the languages it has words for (`*` for any), a scope, a pattern
and a one-line reason:

- `line`:  the paragraph goes when the pattern matches it;
- `span`:  matches are cut out of the paragraph (capture groups are kept, so a
           pattern can remove markers around words it leaves in place);
- `block`: the matching paragraph goes with up to `max_follow` following paragraphs
           that match `follow` (a related-articles heading and its list); with
           `skip_first`, the first match in a document does not start a block (the
           first post of a forum print page is the article, the later ones replies).

A `line` rule with `meta = "key"` keeps its `(?P<value>...)` group as document metadata.
The loader rejects empty patterns and patterns that match the empty string (they would
match everything); only `follow` patterns, applied to non-empty paragraphs, may.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

RULES_DIR = Path(__file__).parent / "rules"
SCOPES = ("line", "span", "block")


class RuleError(ValueError):
    """A rule pack is malformed; the message names the file and the rule."""


@dataclass(frozen=True)
class Rule:
    id: str
    family: str
    langs: tuple[str, ...]
    scope: str
    pattern: re.Pattern[str]
    reason: str
    meta: str | None = None
    follow: re.Pattern[str] | None = None
    max_follow: int = 0
    skip_first: bool = False  # block rules: the first match in a document is not a block


@dataclass(frozen=True)
class RuleSet:
    rules: tuple[Rule, ...]
    digest: str  # changes whenever any rule file changes; part of extractor_version

    def by_scope(self, scope: str) -> tuple[Rule, ...]:
        return tuple(r for r in self.rules if r.scope == scope)

    @property
    def families(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(r.family for r in self.rules))


def _compile(source: str, where: str, allow_empty: bool = False) -> re.Pattern[str]:
    if not source or not source.strip():
        raise RuleError(f"{where}: empty pattern")
    try:
        pattern = re.compile(source, re.MULTILINE)
    except re.error as exc:
        raise RuleError(f"{where}: invalid pattern: {exc}") from None
    if not allow_empty and pattern.search("") is not None:
        raise RuleError(f"{where}: pattern matches the empty string, so it would match everything")
    return pattern


def parse_pack(text: str, name: str) -> list[Rule]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RuleError(f"{name}: not valid TOML: {exc}") from None
    family = data.get("family")
    if not family:
        raise RuleError(f"{name}: missing `family`")
    rules = []
    for i, entry in enumerate(data.get("rule", []), 1):
        where = f"{name} rule #{i} ({entry.get('id', '?')})"
        for key in ("id", "scope", "pattern", "reason"):
            if not entry.get(key):
                raise RuleError(f"{where}: missing `{key}`")
        if entry["scope"] not in SCOPES:
            raise RuleError(f"{where}: scope must be one of {SCOPES}")
        follow = (
            _compile(entry["follow"], where + " follow", allow_empty=True)
            if entry.get("follow")
            else None
        )
        rules.append(
            Rule(
                id=entry["id"],
                family=family,
                langs=tuple(entry.get("langs", ["*"])),
                scope=entry["scope"],
                pattern=_compile(entry["pattern"], where),
                reason=entry["reason"],
                meta=entry.get("meta"),
                follow=follow,
                max_follow=int(entry.get("max_follow", 0)),
                skip_first=bool(entry.get("skip_first", False)),
            )
        )
    return rules


@cache
def load_rules(directory: Path = RULES_DIR) -> RuleSet:
    """Every pack in `directory`, in file-name order; ids must be unique."""
    digest = hashlib.sha256()
    rules: list[Rule] = []
    for path in sorted(directory.glob("*.toml")):
        text = path.read_text(encoding="utf-8")
        digest.update(path.name.encode() + b"\0" + text.encode())
        rules.extend(parse_pack(text, path.name))
    ids = [r.id for r in rules]
    duplicates = {i for i in ids if ids.count(i) > 1}
    if duplicates:
        raise RuleError(f"duplicate rule ids: {sorted(duplicates)}")
    return RuleSet(tuple(rules), digest.hexdigest()[:12])


# Rule ids the cleaner uses without a pack (site profiles, headline, tidy-up) and why.
BUILTIN_REASONS = {
    "profile.line": "repeated on many different articles of this site (site profile)",
    "profile.prefix": "paragraph lead-in repeated across this site's articles (site profile)",
    "profile.suffix": "appended to paragraphs across this site's articles (site profile)",
    "title.repeat": "the headline repeated as the first paragraph",
    "tidy.empty": "nothing left but punctuation after cleaning",
    "page.suffix": "appended to many paragraphs of this page (a watermark)",
    "page.repeat": "the same paragraph a second time on this page",
}


@cache
def _pack_reasons() -> dict[str, str]:
    return {r.id: r.reason for r in load_rules().rules}


def rule_reason(rule: str) -> str:
    """Why a span with this rule id was removed: the pack's reason, or a built-in one."""
    return _pack_reasons().get(rule) or BUILTIN_REASONS.get(rule, "")
