"""Fixture pages, one per kind of residue seen in real crawls, through `extractors.extract`.

For every page: each article sentence survives in `Document.text`, each piece of
boilerplate is gone, the language and segment languages are right, and each piece of
boilerplate that reached the cleaner was taken by a rule of the expected family.

Sentences are written as they are on the page; `norm` applies the pipeline's own Unicode
normalisation (ftfy folds full-width punctuation such as `，` to `,`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from extractors import Document, SiteRules, extract
from extractors.clean import normalise_unicode
from extractors.rules import load_rules

PAGES = Path(__file__).parent / "fixtures" / "pages"
BUILTIN_RULES = {
    "profile.line": "profile",
    "profile.prefix": "profile",
    "profile.suffix": "profile",
    "title.repeat": "title",
    "tidy.empty": "tidy",
}


def norm(text: str) -> str:
    return normalise_unicode(text)


@dataclass(frozen=True)
class Case:
    file: str
    lang: str
    segments: tuple[str, ...]
    keep: tuple[str, ...]  # every article sentence, as on the page
    # boilerplate -> the family that must remove it from the extracted text, or None for
    # page chrome that the main-text extractor already leaves out
    gone: dict[str, str | None] = field(default_factory=dict)
    url: str = "https://news.example.com/2024/05/article.html"
    site: SiteRules | None = None

    def __str__(self) -> str:
        return self.file.removesuffix(".html")


WATERMARK = "蓝鲸数字网(www.ljszw.cn)"

CASES = [
    Case(
        "zh_cn_news_disclaimer.html",
        "zh-cn",
        ("zh-cn",),
        keep=(
            "本月起，本市在六个街道启动电动自行车旧电池回收试点，居民可以把淘汰的电池送到社区回收点。",
            "据市商务局介绍，试点期间每个回收点都配备了防火柜和专职管理员，回收的电池统一运往有资质的企业处理。",
            "一位参与试点的社区负责人说，过去不少居民把旧电池堆放在楼道里，存在明显的火灾隐患。",
            "居民交回一块旧电池，可以领取一张购买新电池时使用的抵扣券，抵扣金额按电池容量计算。",
            "按照计划，试点将持续到明年三月，届时有关部门会根据回收量和居民反馈决定是否在全市推广。",
        ),
        gone={
            "相关阅读": "related",
            "本市新增两百个电动自行车充电桩": "related",
            "夏季高温来临 消防部门提醒规范充电": "related",
            "旧家电以旧换新活动本周六开始": "related",
            "免责声明：本网站转载的文章仅供参考，不代表本网站观点，版权归原作者所有。": "disclaimer",
            "如涉及作品内容、版权等问题，请在三十日内与本站联系，我们将在第一时间删除。": "disclaimer",
            "分享到": None,
            "热门排行": None,
            "一季度本市外贸进出口稳中有升": None,
            "沪ICP备20240001号": None,
            "关于我们": None,
            "下载APP": None,
        },
    ),
    Case(
        "zh_cn_watermark.html",
        "zh-cn",
        ("zh-cn",),
        keep=(
            "在江南一座小城，一家有三十年历史的纺织厂去年开始给老设备加装传感器。",
            "厂长说，最初的想法很简单，就是想知道每台织机一天到底停了多少次、每次停多久。",
            "数据接入之后，车间发现大部分停机并不是设备故障，而是换纱和等待质检造成的。",
            "于是工厂调整了排班，让质检员跟着生产节奏走，织机的有效运行时间提高了将近两成。",
            "这次改造一共花了不到两百万元，厂里估计两年左右就能收回成本。",
            "不过厂长也提醒同行，买来的系统只是工具，真正难的是让老师傅们愿意看数据、用数据。",
        ),
        gone={
            WATERMARK: "profile",
            "本文由蓝鲸数字网(www.ljszw.cn)整理发布，来源于江南制造观察；编辑：林一。": "repost",
            "推荐案例": None,
            "浙ICP备20240002号": None,
        },
        site=SiteRules(suffixes=(WATERMARK,)),
    ),
    Case(
        "discuz_print.html",
        "zh-tw",
        ("zh-tw",),
        url="https://bbs.shancheng.example.tw/forum.php?mod=viewthread&action=printable&tid=4411",
        keep=(
            "這間咖啡館原本是老街上最熱鬧的地方，去年老闆退休後一直空著。",
            "里長和幾位志工花了三個月整理，把吧台改成借書櫃台，牆邊釘上了木頭書架。",
            "書架上的書大多是居民捐的，從繪本到老地圖都有，目前已經超過兩千本。",
            "大家都說這裡的燈光很溫暖，希望新的圖書室能保留原來的吧台。",
            "每週六下午會有志工帶小朋友讀故事，附近的長輩也常來翻報紙、聊天。",
        ),
        gone={
            "標題: 老街咖啡館改建成社區圖書室 [打印本頁]": "forum",
            "作者: 阿明": "forum",
            "本帖最後由 阿明 於 2024-3-1 21:40 編輯": "forum",
            "%7Kp21%": "anticopy",
            "%Q9x40%": "anticopy",
            "%Xb33Q%": "anticopy",
            "%R2d81%": "anticopy",
            "@": "anticopy",
            "汽車美容打蠟,": "anticopy",
            "汽車美容打蠟": "anticopy",
            "作者: 小芸 時間: 2024-3-2 08:12": "forum",
            "我小時候常在那間店買冰紅茶，聽到改成圖書室真的很開心。": "forum",
            "請問週末幾點開門？想帶家裡的舊書過去捐。": "forum",
            "歡迎光臨 山城生活論壇 (https://bbs.shancheng.example.tw/)": "forum",
            "Powered by Discuz! X3.4": "forum",
            # invisible anti-copy noise (jammer fonts, display:none) never reaches the text
            "kX2f9": None,
            "zQ81a": None,
            "Mw7Tz": None,
        },
    ),
    Case(
        "tr_news.html",
        "tr",
        ("tr",),
        url="https://www.egepostasi.example.com.tr/gundem/feribot-hatti-acildi",
        keep=(
            "Körfezin iki yakasını birbirine bağlayan yeni feribot hattı bu sabah ilk seferini yaptı.",
            "Belediye yetkilileri, hattın yaz boyunca günde altı sefer yapacağını ve kış aylarında sefer sayısının dörde düşeceğini açıkladı.",
            "Daha önce karayoluyla bir saatten fazla süren yolculuk, feribotla yaklaşık yirmi dakikaya iniyor.",
            "İlk seferde yolculuk eden esnaf, yeni hattın özellikle hafta sonları kasabaya gelen ziyaretçi sayısını artıracağını umduğunu söyledi.",
            "Bilet fiyatlarının öğrenciler ve altmış beş yaş üstü yolcular için yarı yarıya indirimli olacağı da belirtildi.",
            "Belediye, iskele çevresindeki otopark düzenlemesinin ise önümüzdeki ay tamamlanacağını duyurdu.",
        ),
        gone={
            "Görsel kaynağı: Belediye Basın Birimi": "image_credit",
            "Görsel kaynağı: Ege Postası Arşivi": "image_credit",
            "Çok Okunanlar": None,
            "Sahil yolunda bakım çalışması başladı": None,
            "Tüm hakları saklıdır": None,
            "Gündem": None,
        },
    ),
    Case(
        "id_news.html",
        "id",
        ("id",),
        url="https://www.wartanusantara.example.co.id/daerah/petani-kopi-pengering-surya",
        keep=(
            "Sekelompok petani kopi di lereng gunung kini mengeringkan biji kopi mereka di dalam rumah kaca yang dipanaskan oleh panel surya.",
            "Sebelumnya, para petani menjemur kopi di halaman rumah dan harus buru-buru mengangkatnya setiap kali hujan turun.",
            "Ketua koperasi mengatakan bahwa waktu pengeringan sekarang lebih singkat dan kualitas biji kopi menjadi lebih seragam.",
            "Rumah kaca tersebut dibangun dengan dana patungan anggota koperasi dan bantuan dari pemerintah kabupaten.",
            "Koperasi berencana membangun dua rumah kaca lagi tahun depan agar semua anggota bisa memakainya secara bergiliran.",
        ),
        gone={
            "Sumber gambar: Dokumentasi Koperasi Tani Makmur": "image_credit",
            "Baca juga: Harga Kopi Arabika Naik Menjelang Musim Panen": "related",
            "Baca juga: Jalan Desa Menuju Kebun Kopi Akhirnya Diperbaiki": "related",
            "Terpopuler": None,
            "Kereta Cepat Tambah Jadwal Akhir Pekan": None,
            "Hak cipta dilindungi": None,
        },
    ),
    Case(
        "en_news.html",
        "en",
        ("en",),
        url="https://www.riversidecourier.example.com/news/library-tool-lending",
        keep=(
            "The central library now lends drills, ladders and sewing machines alongside its books.",
            "Residents can borrow up to three tools at a time for one week, using the same card they use for books.",
            "Staff said the idea came from a survey in which many people said they owned tools they used only once a year.",
            "Local hardware shops donated most of the collection, and volunteers check every item when it comes back.",
            "The library plans to add gardening equipment in the autumn if the first months go well.",
        ),
        gone={
            "Image credit: Marco Lindqvist for The Riverside Courier": "image_credit",
            "Photo: Volunteers sort donated tools in the library basement": "image_credit",
            "Share this article": "share",
            "Sign up for our newsletter to get the week's local news every Friday morning.": "share",
            "Related stories": "related",
            "Repair cafe marks its first anniversary (April 12)": "related",
            "Seed library returns for spring planting (March 30)": "related",
            "Council reviews weekend bus routes (March 21)": "related",
            "We use cookies": None,
            "Most read": None,
            "Bridge repairs to start in June": None,
            "All rights reserved": None,
        },
    ),
    Case(
        "markdown_leftovers.html",
        "id",
        ("id",),
        url="https://catatankota.example.id/2024/bengkel-sepeda-komunitas",
        keep=(
            "Bengkel sepeda di ujung gang itu dibuka oleh tiga sukarelawan yang ingin membantu tetangga memperbaiki sepeda sendiri.",
            "Hal yang paling mengejutkan adalah bahwa kebanyakan pengunjung datang untuk belajar, bukan untuk menitipkan sepeda.",
            "Setiap Sabtu pagi, para sukarelawan mengajarkan cara menambal ban, menyetel rem, dan membersihkan rantai.",
            'Salah satu pendiri berkata, "Alat yang kami punya sederhana, tetapi orang pulang dengan rasa percaya diri yang baru."',
            "Biaya sewa tempat ditutup dari sumbangan sukarela dan penjualan suku cadang bekas.",
            "Tantangan terbesar mereka sekarang adalah mencari tempat yang lebih luas.",
        ),
        gone={"**": "markdown", "ditulis oleh warga, untuk warga": None},
    ),
    Case(
        "zh_tw_pinyin.html",
        "zh-tw",
        ("zh-tw",),
        url="https://www.techlife.example.tw/news/20240220-night-market-payments",
        keep=(
            "過去只收現金的夜市攤商，這兩年已經有超過一半開始接受手機支付。",
            "一位賣蔥油餅的老闆說，年輕客人常常身上沒帶零錢，掃碼付款讓排隊的時間縮短了不少。",
            "不過也有攤商擔心手續費，每個月算下來是一筆不小的數目，所以只在週末開放電子支付。",
            "市場管理處表示，明年會和銀行合作舉辦說明會，幫助年紀較大的攤商學會對帳和退款。",
        ),
        gone={
            "(jīng)": "pinyin",
            "(shù)": "pinyin",
            "原文標題 : 夜市也能刷手機？攤商的電子支付兩難": "repost",
            "最新活動更多": "related",
            "推薦專題": "related",
            "1 行動支付普及率再創新高": "related",
            "2 小店家如何選擇收款工具": "related",
            "3 五個方法看懂手續費": "related",
        },
    ),
    Case(
        "zh_en_translation.html",
        "en",  # the language with the most letters; the translation is longer
        ("zh-cn", "en"),
        url="https://www.chengshi-bilingual.example.cn/bilingual/rooftop-beekeeper.html",
        keep=(
            "在一栋老办公楼的屋顶上，退休教师王先生照料着十二个蜂箱。",
            "他说，城市里的行道树和阳台花草种类很多，蜜蜂在这里反而不缺食物。",
            "每年秋天，他会把收获的蜂蜜分给楼里的住户，也会请附近小学的学生来上观察课。",
            "On the roof of an old office building, a retired teacher named Mr Wang looks after twelve beehives.",
            "He says the city's street trees and balcony plants are so varied that the bees never run short of food.",
            "Every autumn he shares the honey with the people who live in the building and invites pupils from a nearby primary school to watch the bees at work.",
        ),
        gone={"每周更新": None, "双语阅读": None},
    ),
    Case(
        "zh_tw_news.html",
        "zh-tw",
        ("zh-tw",),
        url="https://www.nangang-daily.example.tw/local/20240702/warehouse-startups",
        keep=(
            "閒置多年的港邊倉庫經過整修，今天正式成為青年創業基地。",
            "市府表示，基地共有二十個工作室，租金只有附近辦公室的三分之一，第一批進駐的團隊以設計和食品為主。",
            "一位製作手工果醬的創業者說，這裡有共用廚房和冷藏設備，省下了一大筆開店前的投資。",
            "倉庫保留了原本的紅磚牆和木造屋架，週末也會開放給民眾參觀市集。",
        ),
        gone={
            "（圖／記者林小華攝）": "image_credit",
            "廣告": "share",
            "延伸閱讀": "related",
            "分享 Facebook LINE": "share",
            "版權所有 © 2024 南港日報 未經授權禁止轉載": "disclaimer",
            "熱門新聞": None,
            "颱風外圍環流影響": None,
        },
    ),
]


@pytest.fixture(scope="module")
def documents() -> dict[str, Document]:
    return {
        case.file: extract((PAGES / case.file).read_text(encoding="utf-8"), case.url, case.site)
        for case in CASES
    }


def rule_families() -> dict[str, str]:
    return {r.id: r.family for r in load_rules().rules} | BUILTIN_RULES


def occurrences(haystack: str, needle: str) -> list[int]:
    found, start = [], haystack.find(needle)
    while start >= 0:
        found.append(start)
        start = haystack.find(needle, start + 1)
    return found


def test_every_kind_has_a_fixture_file() -> None:
    assert sorted(p.name for p in PAGES.glob("*.html")) == sorted(c.file for c in CASES)


@pytest.mark.parametrize("case", CASES, ids=str)
def test_article_sentences_survive(case: Case, documents: dict[str, Document]) -> None:
    doc = documents[case.file]
    assert doc.outcome == "ok", doc.reason
    missing = [s for s in case.keep if norm(s) not in doc.text]
    assert not missing, f"article sentences lost:\n{missing}\n--- text:\n{doc.text}"


@pytest.mark.parametrize("case", CASES, ids=str)
def test_boilerplate_is_gone(case: Case, documents: dict[str, Document]) -> None:
    doc = documents[case.file]
    left = [b for b in case.gone if norm(b) in doc.text]
    assert not left, f"boilerplate survived:\n{left}\n--- text:\n{doc.text}"


@pytest.mark.parametrize("case", CASES, ids=str)
def test_language_and_segments(case: Case, documents: dict[str, Document]) -> None:
    doc = documents[case.file]
    assert doc.lang == case.lang
    assert tuple(s.lang for s in doc.segments) == case.segments
    assert 0.0 < doc.lang_confidence <= 1.0
    for seg in doc.segments:
        assert 0 <= seg.start < seg.end <= len(doc.text)


@pytest.mark.parametrize("case", CASES, ids=str)
def test_removals_name_rules_of_the_expected_family(
    case: Case, documents: dict[str, Document]
) -> None:
    doc = documents[case.file]
    families = rule_families()
    expected = {f for f in case.gone.values() if f} | {"title"}  # the repeated headline
    for removal in doc.removed:
        assert doc.extracted[removal.start : removal.end] == removal.text
        assert families.get(removal.rule) == removal.family, removal
        assert removal.family in expected, f"unexpected removal {removal}"
    for boilerplate, family in case.gone.items():
        if family is None:
            continue
        where = occurrences(doc.extracted, norm(boilerplate))
        assert where, f"{boilerplate!r} never reached the cleaner, so nothing tests its rule"
        covered = {i for r in doc.removed if r.family == family for i in range(r.start, r.end)}
        # an occurrence inside a longer listed piece goes with that piece (and its family)
        inside_longer = {
            i
            for other in case.gone
            if len(norm(other)) > len(norm(boilerplate)) and norm(boilerplate) in norm(other)
            for s in occurrences(doc.extracted, norm(other))
            for i in range(s, s + len(norm(other)))
        }
        for start in where:
            span = range(start, start + len(norm(boilerplate)))
            if set(span) <= inside_longer:
                continue
            uncovered = [i for i in span if i not in covered and not doc.extracted[i].isspace()]
            assert not uncovered, f"{boilerplate!r} not removed by a {family} rule"


def test_discuz_anticopy_keeps_the_words_between_the_codes(
    documents: dict[str, Document],
) -> None:
    doc = documents["discuz_print.html"]
    tokens = [r for r in doc.removed if r.rule == "anticopy.discuz_token"]
    assert {r.text for r in tokens} == {"@", "%7Kp21%", "%Q9x40%", "%Xb33Q%", "%R2d81%"}
    spam = [r for r in doc.removed if r.rule == "anticopy.spam.zh"]
    assert [r.text for r in spam] == ["汽車美容打蠟,"]
    replies = [r for r in doc.removed if r.rule == "forum.discuz.reply"]
    assert len(replies) == 4  # two reply headers, two reply texts


def test_watermark_is_learned_from_the_page_or_the_site() -> None:
    """No rule pack knows a site's watermark: the page's own repeats reveal it (page.suffix),
    and the site profile takes it when it knows it (profile.suffix)."""
    html = (PAGES / "zh_cn_watermark.html").read_text(encoding="utf-8")
    plain = extract(html, "https://www.ljszw.example.cn/case/103.html")
    assert WATERMARK not in plain.text
    assert [r.text for r in plain.removed if r.rule == "page.suffix"] == [WATERMARK] * 4
    cleaned = extract(
        html, "https://www.ljszw.example.cn/case/103.html", SiteRules(suffixes=(WATERMARK,))
    )
    suffixes = [r for r in cleaned.removed if r.rule == "profile.suffix"]
    assert [r.text for r in suffixes] == [WATERMARK] * 4
    assert WATERMARK not in cleaned.text


def test_pinyin_and_repost_metadata(documents: dict[str, Document]) -> None:
    doc = documents["zh_tw_pinyin.html"]
    assert doc.meta["original_title"] == norm("夜市也能刷手機？攤商的電子支付兩難")
    assert [r.text for r in doc.removed if r.family == "pinyin"] == ["(jīng)", "(shù)"]


def test_translation_segments_split_at_the_english_text(documents: dict[str, Document]) -> None:
    doc = documents["zh_en_translation.html"]
    zh, en = doc.segments
    assert doc.text[en.start :].startswith("On the roof of an old office building")
    assert "退休教师" in doc.text[zh.start : zh.end]
    assert "twelve beehives" not in doc.text[zh.start : zh.end]
    assert en.chars > zh.chars
