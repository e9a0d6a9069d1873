"""Properties of the cleaner on arbitrary text: it only deletes, it audits every deletion,
and running it on its own output changes nothing."""

from __future__ import annotations

from functools import cache
from itertools import pairwise

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from extractors.clean import Cleaner, CleanResult, SiteRules
from extractors.rules import load_rules

# Pieces that look like what the rule packs and site profiles act on, so generated text
# actually triggers rules instead of being plain noise.
TOKENS = (
    "中", "國", "大模型", "融資", "已經", "數", "(jīng)", "(shù)", "。", "，", ",", ":", "：",
    "%AB12%", "%46Q71%", "%F3x13%", "@", "**", "__", "# ", "[链接](https://a.cn/x)",
    "免责声明：", "版权归原作者所有", "相关阅读", "- ", "1. ", "作者: 小明 时间: 2024-1-2",
    "本帖最后由 小明 于 2024-1-2 10:00 编辑", "汽車美容打蠟,", "Powered by Discuz!",
    "Share this", "Related", "Photo: ", "Görsel kaynağı:", "Sumber gambar:", "Baca juga: ",
    "广告", "(图/记者)", "数字化转型网(www.szhzxw.cn)", "The model", " ", "  ", "\t",
    "\n", "\n\n", "\u3000", "\u200b", "!", "?", ".", "|", "»",
)  # fmt: skip
WATERMARK = "数字化转型网(www.szhzxw.cn)"

pieces = st.one_of(
    st.sampled_from(TOKENS),
    st.text(
        alphabet=st.sampled_from("中文字模型的了是abcXYZ019 %@*#_-.,。，:：()（）/\n"),
        max_size=8,
    ),
)
texts = st.lists(pieces, max_size=40).map("".join)


@cache
def cleaner() -> Cleaner:
    return Cleaner(load_rules())


@st.composite
def site_rules(draw: st.DrawFn) -> SiteRules:
    lines = draw(
        st.lists(st.sampled_from(["相关阅读", "The model", "广告 广告", "中。"]), max_size=2)
    )
    suffixes = draw(
        st.lists(st.sampled_from([WATERMARK, "(www.szhzxw.cn)", "Share this"]), max_size=2)
    )
    prefixes = draw(st.lists(st.sampled_from(["本报讯】", "The model -", "融資:"]), max_size=2))
    return SiteRules(frozenset(lines), tuple(prefixes), tuple(suffixes))


titles = st.one_of(st.none(), st.sampled_from(["大模型", "The model", "相关阅读"]), texts)

FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def is_subsequence(part: str, whole: str) -> bool:
    it = iter(whole)
    return all(ch in it for ch in part)


def check_only_deletes(text: str, result: CleanResult) -> None:
    assert len(result.text) <= len(text)
    assert result.text == "\n".join(result.paragraphs)
    for para in result.paragraphs:
        assert para and "\n" not in para
        assert is_subsequence(para, text)
    for removal in result.removed:
        assert 0 <= removal.start < removal.end <= len(text)
        assert text[removal.start : removal.end] == removal.text
        assert removal.text.strip()
    spans = sorted((r.start, r.end) for r in result.removed)
    assert all(a_end <= b_start for (_, a_end), (b_start, _) in pairwise(spans))


@FAST
@given(texts)
def test_never_raises_and_only_deletes(text: str) -> None:
    check_only_deletes(text, cleaner().clean(text))


@FAST
@given(texts, titles, st.one_of(st.none(), site_rules()))
def test_only_deletes_with_title_and_site(
    text: str, title: str | None, site: SiteRules | None
) -> None:
    check_only_deletes(text, cleaner().clean(text, title, site))


@FAST
@given(texts)
def test_idempotent(text: str) -> None:
    once = cleaner().clean(text).text
    assert cleaner().clean(once).text == once


@FAST
@given(texts, titles, st.one_of(st.none(), site_rules()))
def test_idempotent_with_title_and_site(
    text: str, title: str | None, site: SiteRules | None
) -> None:
    once = cleaner().clean(text, title, site).text
    assert cleaner().clean(once, title, site).text == once


@FAST
@given(texts)
def test_kept_and_removed_account_for_the_text(text: str) -> None:
    """What is neither kept nor audited as removed is whitespace."""
    result = cleaner().clean(text)
    removed = sorted(result.removed, key=lambda r: r.start)
    rest, last = [], 0
    for r in removed:
        rest.append(text[last : r.start])
        last = r.end
    rest.append(text[last:])
    remaining = "".join("".join(rest).split())
    assert remaining == "".join(result.text.split())
