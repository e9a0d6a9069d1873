"""Rule packs: the loader's guards, and what the shipped packs must cover."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from extractors.rules import RULES_DIR, SCOPES, RuleError, load_rules, parse_pack

# Families whose rules are written in words of some language, and the languages every such
# family must have words for.
LANGUAGE_FAMILIES = ("image_credit", "disclaimer", "repost", "related", "share")
REQUIRED_LANGS = {"zh-cn", "zh-tw", "en", "tr", "id", "ja", "de", "es", "fr", "ru"}
KNOWN_LANGS = REQUIRED_LANGS | {"ms", "*"}


def pack(pattern: str, *, scope: str = "line", extra: str = "") -> str:
    return (
        'family = "test"\n\n[[rule]]\nid = "test.one"\nlangs = ["en"]\n'
        f'scope = "{scope}"\npattern = \'{pattern}\'\nreason = "a test rule"\n{extra}'
    )


# -- the loader ----------------------------------------------------------------------------


def test_a_valid_pack_parses() -> None:
    [rule] = parse_pack(pack(r"^\s*Share this"), "test.toml")
    assert rule.id == "test.one"
    assert rule.family == "test"
    assert rule.langs == ("en",)
    assert rule.scope == "line"
    assert rule.pattern.search("Share this story")
    assert rule.follow is None and rule.max_follow == 0 and not rule.skip_first


@pytest.mark.parametrize("pattern", ["", "   ", "\t"])
def test_empty_patterns_are_rejected(pattern: str) -> None:
    with pytest.raises(RuleError, match=r"test\.toml rule #1 \(test\.one\)"):
        parse_pack(pack(pattern), "test.toml")


@pytest.mark.parametrize(
    "pattern", ["a*", "(?:Share)?", "^", "$", r"\s*", "x{0,3}", "(foo|)", r"^\s*$", "(?=a)?"]
)
def test_patterns_matching_the_empty_string_are_rejected(pattern: str) -> None:
    with pytest.raises(RuleError, match="matches the empty string"):
        parse_pack(pack(pattern), "test.toml")


def test_follow_patterns_may_match_the_empty_string() -> None:
    text = pack(r"^Related$", scope="block", extra="follow = '^.{0,100}$'\nmax_follow = 5\n")
    [rule] = parse_pack(text, "test.toml")
    assert rule.follow is not None and rule.follow.search("")
    assert rule.max_follow == 5


def test_an_empty_follow_pattern_is_ignored_not_compiled() -> None:
    [rule] = parse_pack(pack("^Related$", scope="block", extra="follow = ''\n"), "t.toml")
    assert rule.follow is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (pack("(unclosed"), "invalid pattern"),
        (pack("x", scope="paragraph"), "scope must be one of"),
        (pack("x").replace('family = "test"', ""), "missing `family`"),
        (pack("x").replace('reason = "a test rule"', ""), "missing `reason`"),
        (pack("x").replace('id = "test.one"', ""), "missing `id`"),
        ("family = [", "not valid TOML"),
    ],
)
def test_malformed_packs_are_rejected_with_a_clear_message(text: str, message: str) -> None:
    with pytest.raises(RuleError, match=re.escape(message)):
        parse_pack(text, "test.toml")


def test_duplicate_ids_across_packs_are_rejected(tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text(pack("alpha"), encoding="utf-8")
    (tmp_path / "b.toml").write_text(pack("beta"), encoding="utf-8")
    with pytest.raises(RuleError, match=r"duplicate rule ids: \['test\.one'\]"):
        load_rules(tmp_path)


def test_digest_follows_the_files(tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text(pack("alpha"), encoding="utf-8")
    first = load_rules(tmp_path).digest
    other = tmp_path / "other"
    other.mkdir()
    (other / "a.toml").write_text(pack("alphb"), encoding="utf-8")
    assert load_rules(other).digest != first
    assert len(first) == 12


# -- the shipped packs ---------------------------------------------------------------------


def test_all_packs_load() -> None:
    rules = load_rules()
    files = sorted(RULES_DIR.glob("*.toml"))
    assert len(files) >= 9
    loaded = {r.family for r in rules.rules}
    for path in files:
        family = parse_pack(path.read_text(encoding="utf-8"), path.name)[0].family
        assert family in loaded
    assert set(rules.families) >= {
        "anticopy", "disclaimer", "forum", "image_credit", "markdown", "pinyin", "related",
        "repost", "share",
    }  # fmt: skip


def test_rule_ids_are_unique_and_named_after_their_family() -> None:
    ids = [r.id for r in load_rules().rules]
    assert len(ids) == len(set(ids))
    for rule in load_rules().rules:
        assert rule.id.split(".")[0] == rule.family, rule.id


def test_every_rule_is_well_formed() -> None:
    for rule in load_rules().rules:
        assert rule.scope in SCOPES
        assert rule.reason.strip()
        assert rule.langs and set(rule.langs) <= KNOWN_LANGS, rule.id
        assert rule.pattern.search("") is None, rule.id
        if rule.scope == "block":
            assert rule.follow is not None and rule.max_follow > 0, rule.id
        if rule.meta:
            assert rule.scope == "line"
            assert any(name.startswith("value") for name in rule.pattern.groupindex), rule.id


def test_span_rules_capture_only_words_they_mean_to_keep() -> None:
    """A span rule keeps its capture groups; a group used only for alternation would leave
    the very words the rule is meant to remove (`(汽車美容打蠟|...)` kept the spam)."""
    for rule in load_rules().by_scope("span"):
        if rule.pattern.groups:
            assert "kept" in rule.reason, f"{rule.id}: use (?:...) or say what is kept"


@pytest.mark.parametrize("family", LANGUAGE_FAMILIES)
def test_language_families_cover_the_required_languages(family: str) -> None:
    rules = [r for r in load_rules().rules if r.family == family]
    assert rules
    covered = {lang for r in rules for lang in r.langs}
    assert "*" not in covered, f"{family} rules are language-specific"
    missing = REQUIRED_LANGS - covered
    assert not missing, f"{family} has no rules with words for {sorted(missing)}"


@pytest.mark.parametrize(
    ("rule_id", "text"),
    [
        ("anticopy.spam.zh", "溫暖,汽車美容打蠟,希望"),
        ("forum.edited.inline", "前文 本帖最後由 阿明 於 2024-3-1 21:40 編輯 後文"),
        ("image_credit.zh.photographer", "正式啟用。（圖／記者林小華攝）"),
    ],
)
def test_span_rules_remove_their_whole_match(rule_id: str, text: str) -> None:
    from extractors.clean import Cleaner
    from extractors.rules import RuleSet

    ruleset = load_rules()
    only = RuleSet(tuple(r for r in ruleset.rules if r.id == rule_id), ruleset.digest)
    result = Cleaner(only).clean(text)
    [removal] = result.removed
    assert removal.rule == rule_id
    assert removal.text == only.rules[0].pattern.search(text).group(0)  # type: ignore[union-attr]
