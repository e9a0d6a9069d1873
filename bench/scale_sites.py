"""Generated news sites for bench/scale.py: many realistic multilingual article pages.

The article texts are the synthetic repost set's documents
(`../shared/benchmarks/dedup/documents.jsonl`: zh, zh-hant, en, tr, id and 15 more
languages, with chrome lines, watermarks, noise tokens and reposts of one another). Each
one becomes an article page of one of 20 invented news sites (4 per chrome language:
zh-cn, zh-tw, en, tr, id; the page chrome is `bench/seeds.py`'s `CHROME`), with the
boilerplate of a real news page: a style block and analytics script, cookie banner,
header and menu, breadcrumb, byline, a per-site watermark (Chinese sites) or an inline
"also read" line, share and tag bars, a disclaimer, prev/next and related links, a sidebar
and a footer. A repost is placed on a different site than its original, so the reposts
cross sites. Each site has a home page (latest articles), list pages of 100 articles,
a sitemap and robots.txt, in the folder layout `flows.demo.DemoSites` serves.
"""

from __future__ import annotations

import html
import json
import random
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from seeds import CHROME

DEDUP_DOCUMENTS = (
    Path(__file__).resolve().parents[2] / "shared" / "benchmarks" / "dedup" / "documents.jsonl"
)

# (chrome language, site name, host shown in watermarks and the footer)
SITES: tuple[tuple[str, str, str], ...] = (
    ("zh-cn", "华讯财经网", "www.huaxun-cj.example"),
    ("zh-cn", "东方商报", "www.dfshangbao.example"),
    ("zh-cn", "智造前沿", "www.zhizao-qy.example"),
    ("zh-cn", "科创日报", "www.kechuang-rb.example"),
    ("zh-tw", "台北經濟時報", "www.tpe-econ.example"),
    ("zh-tw", "寶島新聞網", "www.baodao-news.example"),
    ("zh-tw", "科技島週刊", "www.techisland.example"),
    ("zh-tw", "經貿觀察", "www.jingmao-gc.example"),
    ("en", "Harbour Ledger", "www.harbourledger.example"),
    ("en", "Northgate Post", "www.northgatepost.example"),
    ("en", "Meridian Wire", "www.meridianwire.example"),
    ("en", "Tech Current", "www.techcurrent.example"),
    ("tr", "Ekonomi Gündem", "www.ekonomigundem.example"),
    ("tr", "Anadolu Haber Merkezi", "www.anadoluhm.example"),
    ("tr", "Pusula Teknoloji", "www.pusulatek.example"),
    ("tr", "Piyasa Postası", "www.piyasapostasi.example"),
    ("id", "Warta Nusantara", "www.wartanusantara.example"),
    ("id", "Kabar Bisnis", "www.kabarbisnis.example"),
    ("id", "Teknologi Kini", "www.teknologikini.example"),
    ("id", "Suara Ekonomi", "www.suaraekonomi.example"),
)
GROUP_OF_LANG = {"zh": "zh-cn", "zh-hant": "zh-tw", "en": "en", "tr": "tr", "id": "id"}
GROUPS = ("zh-cn", "zh-tw", "en", "tr", "id")

DISCLAIMER = {
    "zh-cn": "免责声明：本文仅代表作者个人观点，与{site}无关。其原创性以及文中陈述文字和内容未经本站"
    "证实，对本文以及其中全部或者部分内容的真实性、完整性、及时性本站不作任何保证或承诺，请读者"
    "仅作参考，并请自行核实相关内容。",
    "zh-tw": "免責聲明：本文僅代表作者個人觀點，與{site}無關。文中陳述文字和內容未經本站證實，對本文"
    "以及其中全部或者部分內容的真實性、完整性、及時性本站不作任何保證或承諾，請讀者僅作參考。",
    "en": "Disclaimer: The views expressed in this article are those of the author and do not"
    " necessarily reflect the position of {site}. This content is for reference only and does"
    " not constitute investment advice.",
    "tr": "Yasal uyarı: Bu içerik yalnızca bilgilendirme amaçlıdır; {site} görüşlerini yansıtmaz"
    " ve yatırım tavsiyesi niteliği taşımaz.",
    "id": "Disclaimer: Konten ini hanya untuk referensi dan tidak mencerminkan pandangan {site},"
    " bukan ajakan atau saran investasi.",
}
ALSO_READ = {"en": "Also read", "tr": "Ayrıca okuyun", "id": "Baca juga"}
NEXT_PREV = {
    "zh-cn": ("上一篇", "下一篇", "相关阅读", "最新文章", "更多"),
    "zh-tw": ("上一篇", "下一篇", "相關閱讀", "最新文章", "更多"),
    "en": ("Previous", "Next", "Related articles", "Latest news", "More"),
    "tr": ("Önceki haber", "Sonraki haber", "İlgili haberler", "Son haberler", "Daha fazla"),
    "id": ("Sebelumnya", "Berikutnya", "Berita terkait", "Berita terbaru", "Selengkapnya"),
}
STYLE = """
body{margin:0;font:15px/1.7 -apple-system,"Segoe UI","PingFang SC","Microsoft YaHei",sans-serif;
color:#222;background:#f5f5f5}a{color:#0b4f8a;text-decoration:none}a:hover{text-decoration:underline}
.cookie-banner{position:fixed;bottom:0;left:0;right:0;background:#333;color:#eee;padding:8px 16px}
.site-header{background:#0b3c7a;color:#fff;padding:12px 24px;display:flex;align-items:center}
.site-header .logo{font-size:24px;font-weight:700;color:#fff;margin-right:32px}
.main-nav ul{list-style:none;margin:0;padding:0;display:flex;gap:18px}.main-nav a{color:#fff}
.user{margin-left:auto}.user a{color:#cfe0ff;margin-left:12px}.btn{border:1px solid #cfe0ff;
padding:2px 10px;border-radius:3px}.breadcrumb{max-width:1120px;margin:10px auto;color:#888;
font-size:13px}.container{max-width:1120px;margin:0 auto;display:flex;gap:24px}
.content{flex:1;background:#fff;padding:24px 32px}.post-title{font-size:28px;line-height:1.3}
.post-meta{color:#888;font-size:13px;border-bottom:1px solid #eee;padding-bottom:8px}
.post-body p{margin:0 0 1em}.post-share,.post-tags{color:#666;font-size:13px;margin-top:12px}
.disclaimer{background:#f8f8f8;border:1px dashed #ccc;color:#999;font-size:12px;padding:10px}
.prevnext{display:flex;justify-content:space-between;margin:16px 0}.related li{margin:4px 0}
.sidebar{width:300px}.widget{background:#fff;padding:12px 16px;margin-bottom:16px}
.widget h3{font-size:16px;border-left:4px solid #0b3c7a;padding-left:8px}
.site-footer{background:#222;color:#999;text-align:center;font-size:12px;padding:24px;margin-top:24px}
.site-footer a{color:#bbb;margin:0 8px}
@media (max-width:800px){.container{flex-direction:column}.sidebar{width:auto}}
"""
SCRIPT = (
    "window.dataLayer=window.dataLayer||[];function gtag(){dataLayer.push(arguments);}"
    "gtag('js',new Date());gtag('config','G-BENCH0000');(function(){var s=document."
    "createElement('script');s.async=true;s.src='/static/js/ads.js';document.head."
    "appendChild(s);})();"
)
LIST_SIZE = 100  # articles per list page
LATEST = 30  # articles on the home page
RELATED = 6  # related links per article


@dataclass
class Article:
    doc_id: str
    lang: str  # the text's language (dedup set label)
    text: str
    cluster: str
    site: int = -1
    path: str = ""
    title: str = ""
    published: date = date(2025, 1, 1)
    copy: int = 0  # >0: an extra exact copy (when more pages than documents are asked)


@dataclass
class SitesInfo:
    root: Path
    pages: int
    sites: int
    html_mb: float
    articles_per_site: dict[str, int] = field(default_factory=dict)
    languages: dict[str, int] = field(default_factory=dict)
    reposts: int = 0  # articles whose original is also in the set (on another site)
    clusters_with_reposts: int = 0

    def to_dict(self) -> dict[str, object]:
        return {
            "pages": self.pages,
            "sites": self.sites,
            "html_mb": self.html_mb,
            "articles_per_site": self.articles_per_site,
            "languages": self.languages,
            "reposts_across_sites": self.reposts,
            "clusters_with_reposts": self.clusters_with_reposts,
            "source": str(DEDUP_DOCUMENTS),
        }


def _e(text: str) -> str:
    return html.escape(text, quote=False)


def _a(text: str) -> str:
    return html.escape(text, quote=True)


def title_of(text: str, lang: str) -> str:
    first = next((line.strip() for line in text.split("\n") if line.strip()), "Untitled")
    sentence = re.split(r"(?<=[。！？!?])|(?<=\.)\s", first, maxsplit=1)[0].strip()
    cjk = lang.split("+")[0] in ("zh", "zh-hant", "ja", "ko", "th")
    limit = 36 if cjk else 90
    if len(sentence) > limit:
        sentence = sentence[:limit].rstrip() + ("…" if cjk else "...")
    return sentence


def load_documents(path: Path = DEDUP_DOCUMENTS) -> list[dict[str, object]]:
    if not path.exists():
        raise SystemExit(f"{path} not found: the benchmark reads ../shared/benchmarks/dedup")
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def plan_articles(n_pages: int, n_sites: int, seed: int) -> list[Article]:
    """n_pages articles placed on sites: a document goes to a site of its language group
    (other languages: any group), a repost to another site than its original."""
    rng = random.Random(seed)
    docs = load_documents()
    sites_of = {g: [i for i, s in enumerate(SITES[:n_sites]) if s[0] == g] for g in GROUPS}
    sites_of = {g: v for g, v in sites_of.items() if v}
    groups = list(sites_of)
    articles: list[Article] = []
    for i in range(n_pages):
        d = docs[i % len(docs)]
        copy = i // len(docs)
        articles.append(
            Article(str(d["id"]), str(d["lang"]), str(d["text"]), str(d["cluster"]), copy=copy)
        )
    group: dict[int, str] = {}
    for k, art in enumerate(articles):
        base = art.lang.split("+")[0]
        g = GROUP_OF_LANG.get(base)
        group[k] = g if g in sites_of else rng.choice(groups)
    placed: dict[str, int] = {}  # doc id of an original (first copy) -> its site
    for k, art in enumerate(articles):  # originals first
        if art.cluster == art.doc_id and art.copy == 0:
            art.site = rng.choice(sites_of[group[k]])
            placed[art.doc_id] = art.site
    for k, art in enumerate(articles):  # then reposts and extra copies, on another site
        if art.site >= 0:
            continue
        key = art.doc_id if art.copy else art.cluster
        choices = sites_of[group[k]]
        other = [s for s in choices if s != placed.get(key)]
        art.site = rng.choice(other or choices)
    start = date(2025, 1, 1)
    for art in articles:
        art.published = start + timedelta(days=rng.randrange(365))
        suffix = f"-{art.copy}" if art.copy else ""
        art.path = f"/news/{art.published:%Y/%m%d}-{art.doc_id}{suffix}.html"
        art.title = title_of(art.text, art.lang)
    return articles


def write_sites(out: Path, n_pages: int, n_sites: int = 20, seed: int = 1) -> SitesInfo:
    """Write n_sites site folders under `out` (for `DemoSites(out, preferred_port=None)`)."""
    if not 1 <= n_sites <= len(SITES):
        raise ValueError(f"sites: 1..{len(SITES)}")
    rng = random.Random(seed + 1)
    articles = plan_articles(n_pages, n_sites, seed)
    by_site: dict[int, list[Article]] = {i: [] for i in range(n_sites)}
    for art in articles:
        by_site[art.site].append(art)
    total_bytes = 0
    info = SitesInfo(out, n_pages, n_sites, 0.0)
    for i, arts in by_site.items():
        lang, name, host = SITES[i]
        arts.sort(key=lambda a: (a.published, a.path), reverse=True)  # newest first
        root = out / f"site{i:02d}-{lang}"
        root.mkdir(parents=True, exist_ok=True)
        (root / "site.toml").write_text(
            f'name = "{name}"\nlang = "{lang}"\nhost = "{host}"\n', encoding="utf-8"
        )
        (root / "robots.txt").write_text(
            "User-agent: *\nDisallow: /search/\nAllow: /\n\nSitemap: {{BASE}}/sitemap.xml\n"
        )
        lists = [arts[k : k + LIST_SIZE] for k in range(0, len(arts), LIST_SIZE)]
        for k, art in enumerate(arts):
            related = [arts[(k + j * 7 + 1) % len(arts)] for j in range(RELATED)]
            related = [r for r in related if r is not art]
            prev = arts[k - 1] if k > 0 else None
            nxt = arts[k + 1] if k + 1 < len(arts) else None
            page = article_page(i, art, related, prev, nxt, arts[:8], rng)
            path = root / art.path.lstrip("/")
            path.parent.mkdir(parents=True, exist_ok=True)
            data = page.encode("utf-8")
            path.write_bytes(data)
            total_bytes += len(data)
        for n, chunk in enumerate(lists, start=1):
            page = list_page(i, chunk, n, len(lists))
            (root / "list").mkdir(exist_ok=True)
            (root / "list" / f"{n}.html").write_text(page, encoding="utf-8")
        (root / "index.html").write_text(home_page(i, arts[:LATEST], len(lists)), "utf-8")
        (root / "sitemap.xml").write_text(sitemap(arts, len(lists)), encoding="utf-8")
        info.articles_per_site[root.name] = len(arts)
    info.html_mb = round(total_bytes / 1e6, 1)
    info.languages = dict(Counter(a.lang for a in articles).most_common())
    present = {a.doc_id for a in articles if a.copy == 0}
    reposts = [a for a in articles if a.copy or (a.cluster != a.doc_id and a.cluster in present)]
    info.reposts = len(reposts)
    info.clusters_with_reposts = len({a.cluster if not a.copy else a.doc_id for a in reposts})
    return info


def _nav(lang: str) -> str:
    chrome = CHROME[lang]
    return "".join(f'<li><a href="/list/1.html">{_e(n)}</a></li>' for n in chrome.nav)


def _head(title: str, description: str, extra: str = "") -> str:
    return (
        '<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_e(title)}</title>\n"
        f'<meta name="description" content="{_a(description)}">\n{extra}'
        f"<style>{STYLE}</style>\n<script>{SCRIPT}</script>\n</head>\n"
    )


def _header(site: int) -> str:
    lang, name, _host = SITES[site]
    chrome = CHROME[lang]
    return (
        f'<div class="cookie-banner" role="dialog"><p>{_e(chrome.cookie)}</p>'
        "<button>OK</button></div>\n"
        f'<header class="site-header"><a class="logo" href="/">{_e(name)}</a>\n'
        f'<nav class="main-nav"><ul>{_nav(lang)}</ul></nav>\n'
        f'<div class="user"><a href="/login">{_e(chrome.login)}</a>'
        f' <a class="btn" href="/signup">{_e(chrome.signup)}</a></div></header>\n'
    )


def _footer(site: int) -> str:
    lang, name, host = SITES[site]
    chrome = CHROME[lang]
    links = " | ".join(
        f'<a href="/about.html#{k}">{_e(n)}</a>' for k, n in enumerate(chrome.footer)
    )
    return (
        f'<footer class="site-footer"><div class="links">{links}</div>\n'
        f'<p class="copyright">{_e(chrome.rights.format(site=name))} · {host}</p></footer>\n'
    )


def _sidebar(site: int, latest: list[Article]) -> str:
    lang = SITES[site][0]
    chrome = CHROME[lang]
    popular = "".join(f'<li><a href="/list/1.html">{_e(h)}</a></li>' for h in chrome.headlines)
    newest = "".join(f'<li><a href="{a.path}">{_e(a.title)}</a></li>' for a in latest)
    return (
        '<aside class="sidebar">\n'
        f'<section class="widget popular"><h3>{_e(chrome.popular)}</h3><ol>{popular}</ol></section>\n'
        f'<section class="widget latest"><h3>{_e(NEXT_PREV[lang][3])}</h3><ul>{newest}</ul></section>\n'
        f'<section class="widget newsletter"><p>{_e(chrome.newsletter)}</p>'
        '<form><input type="email" placeholder="e-mail"><button>OK</button></form></section>\n'
        "</aside>\n"
    )


def article_page(
    site: int,
    art: Article,
    related: list[Article],
    prev: Article | None,
    nxt: Article | None,
    latest: list[Article],
    rng: random.Random,
) -> str:
    lang, name, host = SITES[site]
    chrome = CHROME[lang]
    words = NEXT_PREV[lang]
    paragraphs = [p.strip() for p in art.text.split("\n") if p.strip()]
    body: list[str] = []
    watermark = f" {name}({host})"
    also = related[0] if related else None
    for k, para in enumerate(paragraphs):
        text = _e(para)
        if lang.startswith("zh") and (k == 0 or rng.random() < 0.6):
            text += _e(watermark)  # the site's watermark, as Chinese portals append it
        body.append(f"<p>{text}</p>")
        if also and lang in ALSO_READ and k == len(paragraphs) // 2 and len(paragraphs) > 2:
            body.append(
                f"<p><strong>{ALSO_READ[lang]}:</strong>"
                f' <a href="{also.path}">{_e(also.title)}</a></p>'
            )
    when = f"{art.published.isoformat()}T08:30:00+08:00"
    byline = chrome.byline.format(site=name)
    share = " ".join(
        f'<a href="#" class="share-{n.lower()}">{n}</a>'
        for n in ("Weibo", "WeChat", "Twitter", "Facebook", "LinkedIn")
    )
    rel = "".join(f'<li><a href="{r.path}">{_e(r.title)}</a></li>' for r in related)
    prevnext = ""
    if prev:
        prevnext += f'<p>{_e(words[0])}: <a href="{prev.path}">{_e(prev.title)}</a></p>'
    if nxt:
        prevnext += f'<p>{_e(words[1])}: <a href="{nxt.path}">{_e(nxt.title)}</a></p>'
    ld = json.dumps(
        {
            "@context": "https://schema.org",
            "@type": "NewsArticle",
            "headline": art.title,
            "datePublished": when,
            "author": {"@type": "Person", "name": byline},
            "publisher": {"@type": "Organization", "name": name},
        },
        ensure_ascii=False,
    ).replace("</", "<\\/")
    extra = (
        f'<meta property="og:title" content="{_a(art.title)}">\n'
        f'<meta property="og:site_name" content="{_a(name)}">\n'
        '<meta property="og:type" content="article">\n'
        f'<meta name="author" content="{_a(byline)}">\n'
        f'<meta property="article:published_time" content="{when}">\n'
        f'<link rel="canonical" href="https://{host}{art.path}">\n'
        f'<script type="application/ld+json">{ld}</script>\n'
    )
    html_lang = {"zh-cn": "zh-CN", "zh-tw": "zh-TW"}.get(lang, lang)
    return (
        f'<!DOCTYPE html>\n<html lang="{html_lang}">\n'
        + _head(f"{art.title} | {name}", paragraphs[0][:150] if paragraphs else "", extra)
        + '<body class="post-page">\n'
        + _header(site)
        + f'<div class="breadcrumb"><a href="/">{_e(chrome.nav[0])}</a> &rsaquo;'
        f' <a href="/list/1.html">{_e(chrome.nav[3])}</a> &rsaquo; <span>{_e(art.title[:40])}</span></div>\n'
        '<div class="container">\n<main class="content">\n<article class="post">\n'
        f'<h1 class="post-title">{_e(art.title)}</h1>\n'
        f'<div class="post-meta"><span class="author">{_e(byline)}</span>'
        f' <time datetime="{when}">{art.published.isoformat()} 08:30</time></div>\n'
        '<div class="post-body">\n' + "\n".join(body) + "\n</div>\n"
        f'<div class="post-share">{_e(chrome.share)}: {share}</div>\n'
        f'<div class="post-tags">{_e(chrome.tags)}</div>\n'
        f'<div class="disclaimer">{_e(DISCLAIMER[lang].format(site=name))}</div>\n'
        f'<div class="prevnext">{prevnext}</div>\n'
        f'<div class="related"><h3>{_e(words[2])}</h3><ul>{rel}</ul></div>\n'
        "</article>\n</main>\n"
        + _sidebar(site, latest)
        + "</div>\n"
        + _footer(site)
        + "</body>\n</html>\n"
    )


def _listing(arts: list[Article]) -> str:
    return "".join(
        f'<li><a href="{a.path}">{_e(a.title)}</a> <span class="date">{a.published}</span></li>'
        for a in arts
    )


def list_page(site: int, arts: list[Article], n: int, total: int) -> str:
    lang, name, _host = SITES[site]
    pages = " ".join(f'<a href="/list/{k}.html">{k}</a>' for k in range(1, total + 1))
    return (
        f'<!DOCTYPE html>\n<html lang="{lang}">\n'
        + _head(f"{NEXT_PREV[lang][3]} ({n}) | {name}", name)
        + "<body>\n"
        + _header(site)
        + f'<div class="container"><main class="content"><h1>{_e(NEXT_PREV[lang][3])}</h1>'
        f'<ul class="list">{_listing(arts)}</ul><div class="pages">{pages}</div></main></div>\n'
        + _footer(site)
        + "</body>\n</html>\n"
    )


def home_page(site: int, latest: list[Article], lists: int) -> str:
    lang, name, _host = SITES[site]
    more = " ".join(f'<a href="/list/{k}.html">{k}</a>' for k in range(1, lists + 1))
    return (
        f'<!DOCTYPE html>\n<html lang="{lang}">\n'
        + _head(name, name)
        + "<body>\n"
        + _header(site)
        + f'<div class="container"><main class="content"><h2>{_e(NEXT_PREV[lang][3])}</h2>'
        f'<ul class="list">{_listing(latest)}</ul>'
        f"<p>{_e(NEXT_PREV[lang][4])}: {more}</p></main>"
        + _sidebar(site, latest[:5])
        + "</div>\n"
        + _footer(site)
        + "</body>\n</html>\n"
    )


def sitemap(arts: list[Article], lists: int) -> str:
    urls = ["{{BASE}}/"] + [f"{{{{BASE}}}}/list/{k}.html" for k in range(1, lists + 1)]
    entries = [f"  <url><loc>{u}</loc></url>" for u in urls]
    entries += [
        f"  <url><loc>{{{{BASE}}}}{a.path}</loc><lastmod>{a.published}</lastmod></url>"
        for a in arts
    ]
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
        + "\n".join(entries)
        + "\n</urlset>\n"
    )
