"""Site profiles on a real archive: crawl a loopback site (the crawl processes what it
archives: `process_batch_fn` per batch, then `finalise_fn`), then read the documents back.

What one site appends to the paragraphs of all its different articles (a watermark) and
the line it ends them with (a footer) is learned and removed with `profile.*` rule ids;
an article that merely appears twice is not; and the result depends on the set of pages,
not the order in which they were crawled and processed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from conftest import fast_settings
from crawling import crawl
from loopback import LoopbackSite, html

from archive.catalog import Catalog
from archive.documents import DocumentStore, StoredDocument
from archive.export import export_record
from archive.layout import ArchiveLayout
from crawler.sources import Source
from extractors.clean import normalise_unicode
from extractors.profiles import ProfileConfig, SiteProfile
from flows.process import finalise_fn, process_batch_fn

WATERMARK = "云帆科技网(www.yunfan-tech.cn)"
FOOTER = "云帆科技网，记录身边的科技与产业变化"

# Nine different articles: (title, paragraphs). Watermarks are added to some paragraphs.
ARTICLES = [
    (
        "社区食堂用上智能结算台",
        [
            "城东一家社区食堂上个月换上了智能结算台，餐盘放上去几秒钟就能算出价格。",
            "食堂负责人说，午餐高峰时排队的时间比过去少了一半。",
            "一些老人起初不习惯，志愿者在旁边帮忙演示了两个星期。",
        ],
    ),
    (
        "县城物流园试行夜间无人配送",
        [
            "县城物流园从本周开始在夜间试行无人车配送，路线覆盖三个大型小区。",
            "无人车每晚出车四趟，主要运送生鲜和日用品。",
            "园区表示，试行期间每辆车后面都有工作人员骑车跟随。",
        ],
    ),
    (
        "老旧小区加装电梯有了进度查询平台",
        [
            "老旧小区加装电梯的居民，现在可以在网上查询申请进度。",
            "平台把审批、设计、施工分成九个环节，每完成一个环节都会发短信提醒。",
            "住建部门说，过去居民常常不知道材料卡在了哪里。",
        ],
    ),
    (
        "果园用传感器给桃树浇水",
        [
            "山脚下的一片桃园装上了土壤湿度传感器，浇水不再靠经验估计。",
            "果农说，今年的用水量比去年少了三成，桃子的个头却更均匀。",
            "合作社打算明年把这套设备推广到附近的梨园。",
        ],
    ),
    (
        "图书馆推出夜间自助借还",
        [
            "市图书馆在一楼开设了夜间自助借还区，晚上十点以前都能借书。",
            "读者刷身份证进门，借书和还书都由机器完成。",
            "开放第一个月，夜间借出的图书超过了六千册。",
        ],
    ),
    (
        "公交站牌能显示到站时间了",
        [
            "主城区两百多个公交站换上了电子站牌，可以显示下一班车还有几分钟到站。",
            "站牌的数据来自车上的定位设备，每隔十五秒更新一次。",
            "有乘客说，冬天等车时终于不用在寒风里干等了。",
        ],
    ),
    (
        "医院上线检查报告线上查看",
        [
            "区人民医院上线了检查报告线上查看功能，患者不必再回医院取纸质报告。",
            "报告出来以后，系统会通过短信通知患者本人。",
            "医院提醒，看不懂报告时仍然应该预约医生当面解读。",
        ],
    ),
    (
        "菜市场摊位装上电子秤溯源码",
        [
            "南门菜市场的每个摊位都装上了带溯源码的电子秤。",
            "顾客扫一扫小票上的二维码，就能看到蔬菜的产地和进货日期。",
            "市场管理方说，这套系统也方便他们抽查农药残留。",
        ],
    ),
    (
        "小学科学课搬进了创客教室",
        [
            "一所小学把闲置的储藏室改成了创客教室，学生在这里组装小机器人。",
            "科学老师说，孩子们最喜欢的是自己写程序让小车绕开障碍。",
            "学校计划下学期开设面向家长的开放日。",
        ],
    ),
]


def article_page(title: str, paragraphs: list[str], watermark_every: int = 2) -> str:
    body = "\n".join(
        f"<p>{p} {WATERMARK}</p>" if i % watermark_every == 0 else f"<p>{p}</p>"
        for i, p in enumerate(paragraphs)
    )
    return f"""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>{title}_云帆科技网</title></head>
<body>
<div class="header"><a href="/">云帆科技网</a> <a href="/news/">资讯</a> <a href="/about">关于</a></div>
<div class="content"><div class="article">
<h1>{title}</h1>
<div class="info">2024-06-01 来源：云帆科技网</div>
<div class="article-body">
{body}
<p>{FOOTER}</p>
</div></div></div>
<div class="footer">关于我们 | 联系我们</div>
</body></html>"""


def index_page(paths: list[str]) -> str:
    links = "".join(f'<li><a href="{p}">文章 {p}</a></li>' for p in paths)
    return f"<html><head><title>云帆科技网</title></head><body><ul>{links}</ul></body></html>"


def site_routes(order: list[int]) -> dict[str, object]:
    paths = [f"/news/{i + 1}.html" for i in order]
    routes: dict[str, object] = {"/": html(index_page(paths))}
    for i, (title, paragraphs) in enumerate(ARTICLES):
        routes[f"/news/{i + 1}.html"] = html(article_page(title, paragraphs))
    return routes


def crawl_site(layout: ArchiveLayout, site: LoopbackSite, batch_pages: int = 200) -> None:
    source = Source(name="profiles", seeds=(site.url("/"),))
    result = crawl(layout, [source], fast_settings(batch_pages=batch_pages))
    result.catalog.close()


def documents(layout: ArchiveLayout) -> dict[str, StoredDocument]:
    catalog = Catalog.open(layout.catalog, readonly=True)
    try:
        return {d.document.url: d for d in DocumentStore(catalog).iter_documents()}
    finally:
        catalog.close()


def outcomes(layout: ArchiveLayout) -> dict[str, tuple[str, str | None]]:
    """url -> (outcome, reason) of every document, for failure messages."""
    catalog = Catalog.open(layout.catalog, readonly=True)
    try:
        return {
            d.document.url: (d.document.outcome, d.document.reason)
            for d in DocumentStore(catalog).iter_documents(outcome=None)
        }
    finally:
        catalog.close()


def article_docs(docs: dict[str, StoredDocument]) -> list[StoredDocument]:
    return [d for url, d in sorted(docs.items()) if "/news/" in url]


def norm(text: str) -> str:
    return normalise_unicode(text)


@pytest.fixture
def watermark_site() -> Iterator[LoopbackSite]:
    with LoopbackSite(site_routes(list(range(len(ARTICLES))))) as site:
        yield site


def test_watermark_and_footer_are_learned_and_removed(
    layout: ArchiveLayout, watermark_site: LoopbackSite
) -> None:
    crawl_site(layout, watermark_site)
    docs = article_docs(documents(layout))
    assert len(docs) == len(ARTICLES), outcomes(layout)
    for stored in docs:
        doc = stored.document
        title, paragraphs = ARTICLES[int(doc.url.rsplit("/", 1)[1].split(".")[0]) - 1]
        assert doc.outcome == "ok"
        assert title in (doc.title or "")
        assert WATERMARK in doc.extracted and norm(FOOTER) in doc.extracted
        assert WATERMARK not in doc.text
        assert norm(FOOTER) not in doc.text
        for sentence in paragraphs:
            assert norm(sentence) in doc.text, (doc.url, sentence)
        suffixes = [r for r in doc.removed if r.rule == "profile.suffix"]
        lines = [r for r in doc.removed if r.rule == "profile.line"]
        assert [r.text for r in suffixes] == [WATERMARK] * 2  # paragraphs 1 and 3
        assert [r.text for r in lines] == [norm(FOOTER)]
        assert {r.family for r in suffixes + lines} == {"profile"}
        for r in doc.removed:
            assert doc.extracted[r.start : r.end] == r.text
        assert doc.lang == "zh-cn"
        assert stored.profile_digest  # cleaned with the site's final rules
    # processing again finds nothing to do and changes nothing
    before = export(layout)
    assert process_batch_fn(str(layout.root))["captures"] == 0
    again = finalise_fn(str(layout.root))
    assert (again["recleaned"], again["text_records"]) == (0, 0)
    assert export(layout) == before


def test_an_article_published_twice_is_not_boilerplate(layout: ArchiveLayout) -> None:
    """Two URLs with the same article and one other page: the article's sentences are
    seen on two pages, but they are one article, not something the site repeats."""
    title, paragraphs = ARTICLES[0]
    other_title, other_paragraphs = ARTICLES[1]
    same = html(article_page(title, paragraphs, watermark_every=99))
    routes = {
        "/": html(index_page(["/a.html", "/reprint/a.html", "/b.html"])),
        "/a.html": same,
        "/reprint/a.html": same,
        "/b.html": html(article_page(other_title, other_paragraphs, watermark_every=99)),
    }
    with LoopbackSite(routes) as site:  # type: ignore[arg-type]
        crawl_site(layout, site)
        base = site.base
    docs = documents(layout)
    for path, sentences in [
        ("/a.html", paragraphs),
        ("/reprint/a.html", paragraphs),
        ("/b.html", other_paragraphs),
    ]:
        doc = docs[base + path].document
        for sentence in sentences:
            assert norm(sentence) in doc.text, (path, sentence)
        assert not [r for r in doc.removed if r.family == "profile"], path
    catalog = Catalog.open(layout.catalog, readonly=True)
    try:
        assert (
            DocumentStore(catalog)
            .site_rules(docs[base + "/a.html"].document.site, ProfileConfig())
            .empty
        )
    finally:
        catalog.close()


def test_repeated_copies_of_one_article_count_once() -> None:
    """However many URLs carry the same article, it is counted as one article."""
    config = ProfileConfig()
    profile = SiteProfile("news.example")
    copied = [norm(p) for p in ARTICLES[0][1]]
    for _ in range(5):
        profile.observe(copied, config)
    for _, paragraphs in ARTICLES[1:3]:
        profile.observe([norm(p) for p in paragraphs], config)
    assert len(profile.articles) == 3
    assert profile.rules(config).empty


def export(layout: ArchiveLayout) -> dict[str, dict[str, object]]:
    """The export records by path. What depends on when and where a page was stored (ids,
    offsets, dates) is left out; references to other documents are given as their paths."""
    varying = {"id", "url", "fetched_at", "warc_file", "warc_offset", "warc_record_id"}
    references = {"duplicate_of", "translation_of"}
    records = {d.id: export_record(d) for d in documents(layout).values()}
    path_of = {i: "/" + str(r["url"]).split("/", 3)[3] for i, r in records.items()}
    out = {}
    for doc_id, record in records.items():
        kept = {k: v for k, v in record.items() if k not in varying | {"cluster_id"}}
        for key in references & set(record):
            kept[key] = path_of.get(record[key]) if record[key] is not None else None  # type: ignore[arg-type]
        if "cluster_id" in record:  # clusters compared by their members, not their ids
            kept["cluster_id"] = (
                sorted(
                    path_of[i]
                    for i, r in records.items()
                    if r["cluster_id"] == record["cluster_id"]
                )
                if record["cluster_id"] is not None
                else None
            )
        out[path_of[doc_id]] = kept
    return out


def test_processing_order_does_not_change_the_texts(tmp_path, watermark_site: LoopbackSite) -> None:  # type: ignore[no-untyped-def]
    forward = ArchiveLayout(tmp_path / "forward").ensure()
    crawl_site(forward, watermark_site, batch_pages=5)  # the profile learns batch by batch
    watermark_site.routes.update(site_routes(list(reversed(range(len(ARTICLES))))))
    backward = ArchiveLayout(tmp_path / "backward").ensure()
    crawl_site(backward, watermark_site)  # all pages in one processing batch

    def fetch_order(layout: ArchiveLayout) -> list[str]:
        catalog = Catalog.open(layout.catalog, readonly=True)
        try:
            return [c.url.rsplit("/", 1)[1] for c in catalog.captures() if c.url.endswith(".html")]
        finally:
            catalog.close()

    assert fetch_order(forward) == list(reversed(fetch_order(backward)))
    a, b = export(forward), export(backward)
    assert sorted(a) == sorted(b)
    for path in a:
        if path == "/":
            continue  # the index differs on purpose (its links are listed in another order)
        assert json.dumps(a[path], sort_keys=True, ensure_ascii=False) == json.dumps(
            b[path], sort_keys=True, ensure_ascii=False
        ), path
    for path, record in a.items():
        if path != "/":
            assert WATERMARK not in str(record["text"])
