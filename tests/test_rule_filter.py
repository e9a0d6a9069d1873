"""The joined rule filter says a paragraph may match exactly when one of the rules does."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from extractors.rule_filter import RuleFilter, top_level_alternatives
from extractors.rules import SCOPES, load_rules

# Openings and pieces of the packs' patterns, so that generated paragraphs hit rules.
PIECES = (
    "免责声明：", "版权归原作者所有", "相关阅读", "原标题：", "来源：", "Source: ", "Kaynak: ",
    "Sumber: ", "Photo: ", "Image credit: ", "(Photo: AP)", "/Getty Images", "Görsel: ",
    "Share this", "Related", "Read more", "Baca juga: ", "Powered by Discuz!", "本帖最后由",
    "All rights reserved.", "Copyright 2024", "Disclaimer: ", "Tüm hakları saklıdır", "**",
    "# ", "[x](https://a.cn/x)", "(jīng)", "%AB12%", "@", "广告", "分享", " ", "  ", "\t",
    ":", "：", "|", ".", "The model", "中文", "abc", "2024", "-", "—", "»", "(", ")",
)  # fmt: skip
paragraphs = st.lists(
    st.one_of(st.sampled_from(PIECES), st.text(alphabet="ab中 :.-()[]|#*", max_size=5)),
    max_size=12,
).map("".join)


def by_scope(scope: str) -> list[re.Pattern[str]]:
    return [r.pattern for r in load_rules().rules if r.scope == scope]


@pytest.mark.parametrize("scope", SCOPES)
def test_the_packs_join(scope: str) -> None:
    assert RuleFilter(by_scope(scope)).joined


@pytest.mark.parametrize("scope", SCOPES)
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=paragraphs)
def test_filter_agrees_with_the_rules(scope: str, text: str) -> None:
    patterns = by_scope(scope)
    text = text.replace("\n", " ")
    assert RuleFilter(patterns).may_match(text) == any(p.search(text) for p in patterns)


def test_each_rule_alone_agrees_with_its_filter() -> None:
    for rule in load_rules().rules:
        sample = rule.reason  # any text: what matters is agreement
        assert RuleFilter([rule.pattern]).may_match(sample) == bool(rule.pattern.search(sample))


def test_newlines_fall_back_to_the_patterns() -> None:
    patterns = [re.compile(r"^Share this", re.MULTILINE)]
    assert RuleFilter(patterns).may_match("text\nShare this")


def test_patterns_that_cannot_be_joined_are_tried_one_by_one() -> None:
    patterns = [re.compile(r"(a)\1", re.MULTILINE), re.compile("b", re.MULTILINE)]
    rule_filter = RuleFilter(patterns)
    assert not rule_filter.joined
    assert (
        rule_filter.may_match("xaa")
        and rule_filter.may_match("b")
        and not rule_filter.may_match("a")
    )


@pytest.mark.parametrize(
    ("pattern", "parts"),
    [
        ("a|b(c|d)|[|]", ["a", "b(c|d)", "[|]"]),
        (r"[]|]x|y", ["[]|]x", "y"]),
        (r"[^]|]|z", ["[^]|]", "z"]),
        (r"\||\(|q", [r"\|", r"\(", "q"]),
        (r"[\]|]|w", [r"[\]|]", "w"]),
        ("(?:x|y)z", ["(?:x|y)z"]),
    ],
)
def test_top_level_alternatives(pattern: str, parts: list[str]) -> None:
    assert top_level_alternatives(pattern) == parts
