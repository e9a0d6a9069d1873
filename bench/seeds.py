"""Seed check: the real seed texts through warcflow's extract() inside realistic pages.

    .venv/bin/python bench/seeds.py                 # every /work/shared/seeds/*.txt
    .venv/bin/python bench/seeds.py --only 003      # seeds whose file name starts with 003
    .venv/bin/python bench/seeds.py --html-dir DIR  # also write the generated pages there

A development check, not a scored benchmark. Each seed file is the text of one captured
page, one paragraph a line. It is wrapped into the page it came from:

- a forum print page when the file starts with a forum's name and a `標題:`/`标题:` line:
  Discuz! X3's printable view (`forum.php?mod=viewthread&action=printable`), the post's
  lines separated by `<br />` as Discuz! writes them; and, as a variant, the same page
  with every line in its own `<p>`;
- otherwise an article page of a news site in the seed's language: <head> with title and
  og: tags, header with logo, menu and login links, breadcrumb, <article> with <h1>, byline
  and one `<p>` per seed line, share and tag bar, a sidebar of popular headlines and a
  newsletter box, a footer with links, copyright and a cookie notice.

Then `extractors.extract(page_bytes, url)` runs as on an archived response, and for each
seed this prints: language, confidence and segments; paragraphs in / extracted / out;
removed spans grouped by rule id (first 60 characters); the first and last 3 lines of
the clean text; and two lists of findings, judged by this script's own detectors (not
warcflow's rules):

  SURVIVED   boilerplate still in the clean text: watermark suffixes, pinyin annotations,
             disclaimers, related lists, image credits, source lines, anti-copy tokens,
             spam words, forum chrome, the page chrome added here, repeated paragraphs;
  REMOVED    text the cleaner took out that none of those detectors calls boilerplate
             (article text, probably), with the rule that took it;
  NOT EXTRACTED  article lines missing already from trafilatura's output.
"""

from __future__ import annotations

import argparse
import html
import itertools
import re
import sys
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SEEDS = Path("/work/shared/seeds")
SHOW = 60  # characters shown per span
PER_RULE = 8  # spans shown per rule
EXAMPLES = 3  # examples shown per finding kind

# -- what this script calls boilerplate ----------------------------------------------
# Whole seed lines that are not article text.
LINE_BOILERPLATE: tuple[tuple[str, str], ...] = (
    (
        "image credit",
        r"^(Görsel kaynağı|Sumber gambar|Sumber foto|图片来源|圖片來源|Image source)\s*[:：]",
    ),
    ("source line", r"^(Kaynak|Sumber|来源|來源|Source)\s*[:：]"),
    ("view-original button", r"^(View Original|Lihat Asli|Orijinali Görüntüle|查看原文)\s*$"),
    (
        "disclaimer",
        r"third-party content|not representations/warranties|See Disclaimer|Konten ini hanya"
        r" untuk referensi|Lihat Penafian|^免责声明|^免責聲明|版权归原作者所有|版權歸原作者所有",
    ),
    ("repost notice", r"^本文(由|系).{0,60}(转载|轉載)"),
    ("original title", r"^(原文標題|原文标题|原标题|原標題)\s*[:：]"),
    (
        "related heading",
        r"^(最新活動更多|最新活动更多|推薦專題|推荐专题|相關閱讀|相关阅读|熱門文章|热门文章)\s*$",
    ),
    ("related list item", r"^[-•]\s*\d{1,2}\s+\S"),
    ("translation label", r"^(翻译|翻譯|Translation)\s*[:：]\s*$"),
    (
        "forum print header",
        r"^(標題|标题)\s*[:：]|^(作者|發表者)\s*[:：].{0,40}(時間|时间)\s*[:：]",
    ),
    ("forum footer", r"^(歡迎光臨|欢迎光临).*\(https?://|Powered by Discuz"),
    ("spam line", r"^(類風濕性關節炎|类风湿性关节炎)[,，]?$"),
)
# Pieces inside article lines that are not article text.
SPAN_BOILERPLATE: tuple[tuple[str, str], ...] = (
    ("watermark suffix", r"[\u4e00-\u9fff]{2,12}\((?:https?://)?www\.[a-z0-9.-]+\)"),
    (  # one toned pinyin syllable in parentheses, whatever precedes it
        "pinyin annotation",
        r"\((?=[^)]*[āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜ])(?:zh|ch|sh|[bpmfdtnlgkhjqxrzcsyw])?"
        r"[aeiouüāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜ]{1,3}(?:ng|n|r)?\)",
    ),
    (
        "anti-copy token",
        r"@[^@\s]{0,8}%[0-9A-Za-z]{4,6}%[^@\s]{0,8}%[0-9A-Za-z]{4,6}%[^@\s]{0,8}@"
        r"|%[0-9A-Za-z]{4,6}%|@[^@\s]{1,8}@",
    ),
    ("spam words", r"汽車美容打蠟|汽车美容打蜡|灰指甲外用藥|灰指甲外用药|類風濕性關節炎|冰霸杯"),
    ("image credit inline", r"(图|圖)\s*/\s*IC\b|Figure\s*/\s*IC\b"),
    ("markdown", r"\*\*"),
    (
        "forum chrome inline",
        r"(作者|發表者)\s*[:：]\s*\S{1,40}\s+(時間|时间)\s*[:：]\s*\d{4}-\d{1,2}-\d{1,2}(\s+[\d:]{4,8})?"
        r"|\[(打印本頁|打印本页)\]|Powered by Discuz!?( X[\d.]+)?",
    ),
    ("table-cell pipe", r"^\|\s|\s\|$"),
)
_LINE_RES = tuple((kind, re.compile(rx)) for kind, rx in LINE_BOILERPLATE)
_SPAN_RES = tuple((kind, re.compile(rx)) for kind, rx in SPAN_BOILERPLATE)
_SENTENCE_END = re.compile(r"[.!?。！？]$")


def line_kind(line: str) -> str | None:
    return next((kind for kind, rx in _LINE_RES if rx.search(line.strip())), None)


def strip_spans(text: str) -> str:
    for _kind, rx in _SPAN_RES:
        text = rx.sub("", text)
    return text


def norm(text: str) -> str:
    """NFC, whitespace folded, private-use and format characters dropped."""
    text = unicodedata.normalize("NFC", text)
    text = "".join(c for c in text if unicodedata.category(c) not in ("Co", "Cf"))
    return re.sub(r"\s+", " ", text).strip()


def inside_span_boilerplate(extracted: str, start: int, end: int) -> bool:
    """Whether extracted[start:end] lies inside a SPAN_BOILERPLATE match (seen in context)."""
    lo = max(0, start - 40)
    window = extracted[lo : end + 40]
    a, b = start - lo, end - lo
    return any(m.start() <= a and m.end() >= b for _k, rx in _SPAN_RES for m in rx.finditer(window))


# -- page chrome per language ----------------------------------------------------------
@dataclass(frozen=True)
class Chrome:
    nav: tuple[str, ...]
    login: str
    signup: str
    share: str
    tags: str
    popular: str
    headlines: tuple[str, ...]
    newsletter: str
    footer: tuple[str, ...]
    rights: str
    cookie: str
    byline: str


CHROME: dict[str, Chrome] = {
    "tr": Chrome(
        ("Ana Sayfa", "Piyasalar", "Al-Sat", "Haberler", "Analiz", "Eğitim", "Destek"),
        "Giriş Yap",
        "Kaydol",
        "Paylaş",
        "Etiketler: yapay zeka, yatırım, girişim",
        "En Çok Okunanlar",
        (
            "Bitcoin ETF onayı sonrası piyasalarda hareketlilik sürüyor",
            "Merkez Bankası faiz kararını açıkladı",
            "Yapay zeka girişimlerine yatırım rekor kırdı",
            "Ethereum güncellemesi bir kez daha ertelendi",
            "Borsa İstanbul güne yükselişle başladı",
        ),
        "Bültenimize abone olun, en son haberler her sabah e-postanızda.",
        ("Hakkımızda", "İletişim", "Gizlilik Politikası", "Kullanım Koşulları"),
        "© 2024 {site}. Tüm hakları saklıdır.",
        "Bu site çerezler kullanır. Devam ederek çerez politikamızı kabul etmiş olursunuz.",
        "{site} Haber Masası",
    ),
    "id": Chrome(
        ("Beranda", "Pasar", "Beli Kripto", "Berita", "Analisis", "Edukasi", "Bantuan"),
        "Masuk",
        "Daftar",
        "Bagikan",
        "Tag: kecerdasan buatan, investasi, startup",
        "Terpopuler",
        (
            "Harga Bitcoin kembali menembus rekor tertinggi",
            "Bank Indonesia tahan suku bunga acuan",
            "Investasi kecerdasan buatan melonjak tahun ini",
            "Saham teknologi menguat di awal pekan",
            "Pemerintah siapkan regulasi baru aset kripto",
        ),
        "Berlangganan newsletter kami untuk mendapatkan berita terbaru setiap hari.",
        ("Tentang Kami", "Kontak", "Kebijakan Privasi", "Syarat dan Ketentuan"),
        "© 2024 {site}. Hak cipta dilindungi undang-undang.",
        "Situs ini menggunakan cookie untuk meningkatkan pengalaman Anda.",
        "Redaksi {site}",
    ),
    "zh-tw": Chrome(
        ("首頁", "資訊", "人工智能", "智能汽車", "電子工程", "活動", "專題"),
        "登錄",
        "註冊",
        "分享到",
        "標籤：大模型 投資 AIGC",
        "熱門文章",
        (
            "輝達發布新一代AI晶片，性能提升三倍",
            "自動駕駛商業化提速，多家車企公布時間表",
            "機器人產業迎來新一輪融資潮",
            "半導體設備國產化率持續提升",
            "大模型應用落地進入加速期",
        ),
        "訂閱電子報，掌握最新產業動態",
        ("關於我們", "聯繫我們", "隱私政策", "廣告服務"),
        "版權所有 © 2024 {site}",
        "本網站使用Cookie以提供更好的瀏覽體驗。",
        "{site} 編輯部",
    ),
    "zh-cn": Chrome(
        ("首页", "数字化转型", "工业互联网", "人工智能", "智能制造", "专家观点", "活动"),
        "登录",
        "注册",
        "分享到",
        "标签：大模型 算力 数据",
        "热门文章",
        (
            "企业数字化转型的五个关键步骤",
            "工业互联网平台建设取得新进展",
            "人工智能赋能制造业高质量发展",
            "数据要素市场化配置改革提速",
            "专访：数字化转型需要一把手工程",
        ),
        "扫一扫关注我们的微信公众号",
        ("关于我们", "联系我们", "投稿须知", "隐私政策"),
        "Copyright © 2024 {site} 版权所有 京ICP备12345678号",
        "本站使用Cookie以改善您的浏览体验。",
        "{site} 编辑部",
    ),
    "en": Chrome(
        ("Home", "Markets", "Technology", "Business", "Opinion", "Events", "Newsletters"),
        "Log in",
        "Register",
        "Share this article",
        "Tags: AI, investment, startups",
        "Most read",
        (
            "Chip stocks rally as AI demand soars",
            "Central bank holds rates steady",
            "Startups face a tougher funding market",
            "The year in venture capital",
            "Why cloud prices keep rising",
        ),
        "Sign up for our newsletter to get the latest news in your inbox.",
        ("About us", "Contact", "Privacy policy", "Terms of use"),
        "© 2024 {site}. All rights reserved.",
        "We use cookies to improve your experience on our site.",
        "{site} staff",
    ),
}


@dataclass
class Page:
    kind: str
    url: str
    title: str
    html: str
    paragraphs_in: int
    chrome: list[str] = field(default_factory=list)  # chrome text this script added


def _e(text: str) -> str:
    return html.escape(text, quote=False)


def seed_language(lines: Sequence[str]) -> str:
    from extractors.language import LanguageDetector

    lang = LanguageDetector().analyse(list(lines[:10])).lang  # the page's own language
    return lang if lang in CHROME else "en"


def pick_title(lines: Sequence[str]) -> tuple[str, bool]:
    """(title, whether it is the first line): the line before a source line, else line 1."""
    for prev, line in itertools.pairwise(lines):
        if line_kind(line) == "source line" and len(prev) <= 150:
            return prev, False
    first = lines[0]
    if len(first) <= 100 and line_kind(first) is None:
        return first, True
    return first[:60], False


def site_of(text: str, lang: str) -> tuple[str, str]:
    """(site name, host) from what the text says about where it was published."""
    if re.search(r"\bby Gate\b|^(View Original|Lihat Asli)$", text, re.M):
        return "Gate.io", "www.gate.io"
    watermark = re.search(r"([\u4e00-\u9fff]{2,12})\((www\.[a-z0-9.-]+)\)", text)
    if watermark:
        return watermark.group(1), watermark.group(2)
    if "推薦專題" in text or "最新活動更多" in text:
        return "OFweek維科網", "www.ofweek.com"
    return {"tr": ("Haber Merkezi", "www.habermerkezi.com.tr")}.get(
        lang, ("Daily Report", "www.dailyreport.example")
    )


def news_page(lines: Sequence[str], lang: str) -> Page:
    chrome = CHROME[lang]
    text = "\n".join(lines)
    site, host = site_of(text, lang)
    title, title_first = pick_title(lines)
    body = list(lines[1:]) if title_first else list(lines)
    sub = "zh-tw" if lang == "zh-tw" else ("zh-cn" if lang == "zh-cn" else lang)
    url = (
        f"https://{host}/{lang}/post/status/3207412"
        if host == "www.gate.io"
        else f"https://{host}/{'news' if lang in ('en', 'tr', 'id') else 'article'}/2024/0115/52871.html"
    )
    share = " ".join(
        f'<a href="#" class="share-{n.lower()}">{n}</a>'
        for n in ("Twitter", "Facebook", "LinkedIn", "Telegram")
    )
    nav = "".join(f'<li><a href="/{i}">{_e(n)}</a></li>' for i, n in enumerate(chrome.nav))
    popular = "".join(
        f'<li><a href="/p/{i}">{_e(h)}</a></li>' for i, h in enumerate(chrome.headlines)
    )
    footer = " | ".join(f'<a href="/f/{i}">{_e(n)}</a>' for i, n in enumerate(chrome.footer))
    rights = chrome.rights.format(site=site)
    paragraphs = "\n".join(f"<p>{_e(line)}</p>" for line in body)
    page = f"""<!DOCTYPE html>
<html lang="{sub}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(title)} | {_e(site)}</title>
<meta name="description" content="{html.escape(body[0][:150])}">
<meta property="og:title" content="{html.escape(title)}">
<meta property="og:site_name" content="{html.escape(site)}">
<meta property="og:type" content="article">
<meta name="author" content="{html.escape(chrome.byline.format(site=site))}">
<meta property="article:published_time" content="2024-01-15T08:30:00+08:00">
<link rel="canonical" href="{url}">
<link rel="stylesheet" href="/static/css/main.css">
<script>window.dataLayer = window.dataLayer || []; function gtag(){{dataLayer.push(arguments);}}</script>
</head>
<body class="post-page">
<div class="cookie-banner" role="dialog"><p>{_e(chrome.cookie)}</p><button>OK</button></div>
<header class="site-header">
  <a class="logo" href="/">{_e(site)}</a>
  <nav class="main-nav"><ul>{nav}</ul></nav>
  <div class="user"><a href="/login">{_e(chrome.login)}</a> <a class="btn" href="/signup">{_e(chrome.signup)}</a></div>
</header>
<div class="breadcrumb"><a href="/">{_e(chrome.nav[0])}</a> &rsaquo; <a href="/news">{_e(chrome.nav[3])}</a> &rsaquo; <span>{_e(title[:40])}</span></div>
<div class="container">
<main class="content">
<article class="post">
  <h1 class="post-title">{_e(title)}</h1>
  <div class="post-meta"><span class="author">{_e(chrome.byline.format(site=site))}</span>
    <time datetime="2024-01-15T08:30:00+08:00">2024-01-15 08:30</time></div>
  <div class="post-body">
{paragraphs}
  </div>
  <div class="post-share">{_e(chrome.share)}: {share}</div>
  <div class="post-tags">{_e(chrome.tags)}</div>
</article>
</main>
<aside class="sidebar">
  <section class="widget popular"><h3>{_e(chrome.popular)}</h3><ol>{popular}</ol></section>
  <section class="widget newsletter"><p>{_e(chrome.newsletter)}</p>
    <form><input type="email" placeholder="e-mail"><button>OK</button></form></section>
</aside>
</div>
<footer class="site-footer">
  <div class="links">{footer}</div>
  <p class="copyright">{_e(rights)}</p>
</footer>
</body>
</html>
"""
    added = [
        site,
        chrome.cookie,
        *chrome.nav,
        chrome.login,
        chrome.signup,
        chrome.byline.format(site=site),
        chrome.share,
        chrome.tags,
        chrome.popular,
        *chrome.headlines,
        chrome.newsletter,
        *chrome.footer,
        rights,
    ]
    return Page(f"news article page ({lang})", url, title, page, len(body), added)


def is_forum_print(lines: Sequence[str]) -> bool:
    head = lines[:4]
    return (
        len(head) >= 2
        and bool(re.search(r"(論壇|论坛|社區|社区|BBS|bbs)$", head[0]))
        and any(re.match(r"^(標題|标题)\s*[:：]", line) for line in head[1:])
    )


def discuz_print_page(raw_lines: Sequence[str], p_tags: bool) -> Page:
    """Discuz! X3's printable view (template forum/viewthread_printable), seed lines in order.

    The thread title line, each post's `作者: … 時間: …` and `標題:` lines and the footer
    table are written as the template writes them; the post's message is its lines joined
    by `<br />` (what Discuz! stores), or each in a `<p>` for the variant.
    """
    lines = [line.strip() for line in raw_lines]
    forum = lines[0]
    footer = next((x for x in lines if line_kind(x) == "forum footer"), "")
    welcome = re.match(r"^(.*?\(https?://[^)]+\))\s*(Powered by Discuz!.*)?$", footer)
    site = re.search(r"\((https?://[^)]+)\)", footer)
    base = site.group(1).rstrip("/") if site else "https://bbs.example.com.tw"
    subject = ""
    parts: list[str] = []
    message: list[str] = []

    def flush() -> None:
        if p_tags:
            parts.extend(f"<p>{_e(x)}</p>" for x in message if x)
        elif message:
            parts.append("<br />\r\n".join(_e(x) for x in message))
        message.clear()

    for text in lines[1:]:
        if text == footer:
            break
        head = re.match(r"^(標題|标题)\s*[:：]\s*(.*?)\s*(\[(打印本頁|打印本页)\])?$", text)
        author = re.match(r"^(作者|發表者)\s*[:：]\s*(\S+)\s+(時間|时间)\s*[:：]\s*(.+)$", text)
        if head and head.group(3):
            subject = head.group(2)
            parts.append(
                f'<b>{head.group(1)}: </b>{_e(subject)} <b><a href="###" onclick="this.style.'
                "visibility='hidden';window.print();this.style.visibility='visible'\">"
                f'{head.group(3)}</a></b></span><br />\n<script type="text/javascript">var '
                "zoomstatus = 0;var aimgcount = new Array();</script>"
            )
        elif author:
            flush()
            parts.append(
                '<hr noshade size="2" width="100%" color="#808080">\n'
                f"<b>{author.group(1)}: </b>{_e(author.group(2))}&nbsp; &nbsp; "
                f"<b>{author.group(3)}: </b>{_e(author.group(4))}\n<br />"
            )
        elif head:
            parts.append(f"<b>{head.group(1)}: </b>{_e(head.group(2))}<br />")
        elif parts:
            message.append(text)
    while message and not message[-1]:
        message.pop()
    flush()
    body = "\n".join(parts)
    welcome_text = welcome.group(1) if welcome else footer
    powered = (welcome.group(2) if welcome else "") or "Powered by Discuz! X3.3"
    page = f"""<html>
<head>
<title>{_e(subject)} - {_e(forum)} - Powered by Discuz!</title>
<meta http-equiv="Content-Type" content="text/html; charset=utf-8" />
<style type="text/css">
body \t   {{margin: 10px 80px;}}
body,table {{font-size: 12px; font-family: Tahoma,Helvetica,'SimSun',sans-serif;}}
h1 {{ font-size: 24px; margin-bottom: 20px; color: #999; }}
</style>
<script src="static/js/common.js?Ab1" type="text/javascript"></script>
<script src="static/js/forum_viewthread.js?Ab1" type="text/javascript"></script>
</head>

<body>
<h1>{_e(forum)}</h1>
{body}

<br /><br /><br /><br /><hr noshade size="2" width="100%" color="#CDCDCD">
<table cellspacing="0" cellpadding="0" border="0" width="95%" align="center" style="font-size: 0.83em; font-family: Tahoma">
<tr><td>{_e(welcome_text)}</td>
<td align="right">
{_e(powered)}</td></tr></table>

</body>
</html>
"""
    url = f"{base}/forum.php?mod=viewthread&action=printable&tid=18427"
    kind = "Discuz! print page" + (", lines as <p>" if p_tags else ", post lines split by <br />")
    count = sum(1 for line in lines if line)
    return Page(kind, url, subject, page, count, [forum])


def pages_for(lines: Sequence[str]) -> list[Page]:
    nonempty = [line.strip() for line in lines if line.strip()]
    if is_forum_print(nonempty):
        return [discuz_print_page(lines, p_tags=False), discuz_print_page(lines, p_tags=True)]
    return [news_page(nonempty, seed_language(nonempty))]


# -- findings --------------------------------------------------------------------------
@dataclass
class Findings:
    survived: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    removed: list[str] = field(default_factory=list)
    not_extracted: list[str] = field(default_factory=list)
    language: list[str] = field(default_factory=list)


def find(seed_lines: Sequence[str], page: Page, doc: object) -> Findings:
    from extractors import Document

    assert isinstance(doc, Document)
    out = Findings()
    clean_lines = doc.text.split("\n") if doc.text else []
    chrome = {norm(c) for c in page.chrome}
    boiler_lines = [norm(x) for x in seed_lines if line_kind(x)]
    # SURVIVED: boilerplate lines, spans, page chrome, repeated paragraphs
    seen: Counter[str] = Counter()
    for line in clean_lines:
        kind = line_kind(line)
        if kind:
            out.survived[kind].append(line)
        for span_kind, rx in _SPAN_RES:
            for match in rx.finditer(line):
                out.survived[span_kind].append(match.group(0))
        if norm(line) in chrome:
            out.survived["page chrome"].append(line)
        if norm(line) == norm(page.title):
            out.survived["title line inside the text"].append(line)
        if len(line) >= 30:
            seen[line] += 1
    for line, n in seen.items():
        if n > 1:
            out.survived["repeated paragraph"].append(f"x{n} {line}")
    # REMOVED: cleaner removals that are not boilerplate by this script's detectors
    for removal in doc.removed:
        piece = norm(removal.text)
        if removal.family in ("tidy", "title") or len(piece) < 8:
            continue
        if line_kind(piece) or not strip_spans(piece).strip(" ,，、"):
            continue
        if inside_span_boilerplate(doc.extracted, removal.start, removal.end):
            continue
        if any(piece in b for b in boiler_lines) or any(piece in c for c in chrome):
            continue
        out.removed.append(f"[{removal.rule}] {piece}")
    # LANGUAGE: a label the page contradicts, or a text cut into many segments
    page_lang = doc.meta.get("page_lang", "")
    if page_lang and doc.lang.split("-")[0] != page_lang.split("-")[0]:
        out.language.append(
            f"document labelled {doc.lang} ({doc.lang_confidence}) on a page marked"
            f" lang={page_lang}; segments {[(s.lang, s.chars) for s in doc.segments]}"
        )
    if len(doc.segments) > 5:
        langs = Counter(s.lang for s in doc.segments)
        out.language.append(
            f"{len(doc.segments)} segments for one article, alternating {dict(langs)}"
        )
    # NOT EXTRACTED: article lines absent from trafilatura's output
    extracted = norm(strip_spans(doc.extracted))
    for line in seed_lines:
        text = line.strip()
        if not text or line_kind(text) or norm(text) == norm(page.title):
            continue
        if norm(strip_spans(text)) not in extracted:
            out.not_extracted.append(text)
    return out


# -- report ----------------------------------------------------------------------------
def cut(text: str, n: int = SHOW) -> str:
    text = text.replace("\n", " ")
    return text if len(text) <= n else text[: n - 1] + "…"


def report(path: Path, page: Page, seed_lines: Sequence[str], html_dir: Path | None) -> Findings:
    from extractors import extract

    data = page.html.encode("utf-8")
    if html_dir is not None:
        html_dir.mkdir(parents=True, exist_ok=True)
        suffix = "-p" if page.kind.endswith("<p>") else ""
        (html_dir / f"{path.stem}{suffix}.html").write_bytes(data)
    doc = extract(data, page.url)
    print("=" * 100)
    print(f"{path.name}  [{page.kind}]")
    print(f"url    {page.url}")
    print(f"title  {cut(page.title, 90)}")
    print(f"outcome {doc.outcome}{' (' + doc.reason + ')' if doc.reason else ''}; meta {doc.meta}")
    print(f"language {doc.lang} (confidence {doc.lang_confidence}); segments:")
    for seg in doc.segments:
        print(
            f"  {seg.lang:<6} [{seg.start}:{seg.end}] {seg.chars} letters  {cut(doc.text[seg.start : seg.end], 50)!r}"
        )
    extracted = [x for x in doc.extracted.split("\n") if x.strip()]
    out = doc.text.split("\n") if doc.text else []
    print(
        f"paragraphs in {page.paragraphs_in}, extracted (trafilatura) {len(extracted)}, out (clean) {len(out)}"
    )
    groups: dict[str, list[str]] = defaultdict(list)
    for removal in doc.removed:
        groups[removal.rule].append(removal.text)
    print(f"removed: {len(doc.removed)} spans, {sum(len(r.text) for r in doc.removed)} chars")
    for rule, spans in sorted(groups.items(), key=lambda kv: -len(kv[1])):
        print(f"  {rule} ({len(spans)})")
        for span in spans[:PER_RULE]:
            print(f"    - {cut(span)!r}")
        if len(spans) > PER_RULE:
            print(f"    … and {len(spans) - PER_RULE} more")
    print("clean text, first 3 lines:")
    for line in out[:3]:
        print(f"  | {cut(line, 110)}")
    print("clean text, last 3 lines:")
    for line in out[-3:]:
        print(f"  | {cut(line, 110)}")
    found = find(seed_lines, page, doc)
    print("findings:")
    if not (found.survived or found.removed or found.not_extracted or found.language):
        print("  none")
    for kind, items in found.survived.items():
        distinct = list(dict.fromkeys(items))
        shown = "; ".join(repr(cut(x, SHOW)) for x in distinct[:EXAMPLES])
        print(f"  SURVIVED {kind}: {len(items)}x  {shown}")
    for item in found.removed:
        print(f"  REMOVED  {cut(item, 100)!r}")
    for item in found.language:
        print(f"  LANGUAGE {item}")
    for item in found.not_extracted[: EXAMPLES * 2]:
        print(f"  NOT EXTRACTED {cut(item, 90)!r}")
    if len(found.not_extracted) > EXAMPLES * 2:
        print(f"  NOT EXTRACTED … {len(found.not_extracted)} article lines in all")
    return found


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--seeds", type=Path, default=SEEDS)
    parser.add_argument("--only", default="", help="seed file name prefix")
    parser.add_argument("--html-dir", type=Path, default=None, help="write the pages here")
    args = parser.parse_args(argv)

    from extractors.pipeline import default_pipeline

    print(f"warcflow {default_pipeline().version}")
    print(f"seeds    {args.seeds}")
    totals: Counter[str] = Counter()
    for path in sorted(args.seeds.glob(f"{args.only}*.txt")):
        lines = path.read_text(encoding="utf-8").splitlines()
        for page in pages_for(lines):
            found = report(path, page, lines, args.html_dir)
            for kind, items in found.survived.items():
                totals[f"SURVIVED {kind}"] += len(items)
            totals["REMOVED (article text?)"] += len(found.removed)
            totals["NOT EXTRACTED article lines"] += len(found.not_extracted)
            totals["LANGUAGE notes"] += len(found.language)
    print("=" * 100)
    print("summary over all pages")
    for key, n in sorted(totals.items()):
        print(f"  {key:<40}{n:>5}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
