"""Repost clustering and translation links, on plain values (no archive needed)."""

from __future__ import annotations

import random

import pytest

from archive.clusters import ClusterConfig, ClusterIndex, Member
from extractors.fingerprint import Fingerprinter, anchors
from extractors.language import weighted_length

ZH = [
    "2026年3月10日，临江市发展和改革委员会披露，临江高新区的云谷数据中心集群项目已完成总额48亿元人民币的第二期融资。",
    "本轮融资由Lanstream Compute牵头，Harbor Peak Capital与GreenGrid Infrastructure Fund跟投，另有三家本地城商行提供合计21亿元的银团贷款。",
    "根据项目方公布的信息，二期工程规划建设12000个标准机柜，总设计负载约180兆瓦，计划于2027年第四季度分批投产。",
    "项目一期于2024年建成，目前上架率已达到87%，主要客户为本地的智能制造企业和两家头部云服务商。",
    "Lanstream Compute首席执行官Mara Lindqvist表示，选择临江的原因是气温较低、可再生能源电力占比超过45%，以及光缆时延控制在5毫秒以内。",
    "临江市副市长周文涛介绍，市政府将配套建设一座220千伏变电站，并在2026年至2028年间给予每千瓦时0.08元的电价补贴。",
    "不过也有分析人士提醒，大规模液冷改造对运维团队提出了更高要求，电价补贴到期后项目的收益率仍有不确定性。",
    "按照计划，云谷集群三期的可行性研究将于2027年启动，届时总规模有望突破30000个机柜。",
]
TR = [
    "10 Mart 2026'da Linjiang Belediyesi Kalkınma ve Reform Komisyonu, Yungu veri merkezi kümesinin toplam 4,8 milyar yuan tutarındaki ikinci faz finansmanını tamamladığını açıkladı.",
    "Tura Lanstream Compute liderlik ederken Harbor Peak Capital ve GreenGrid Infrastructure Fund da katıldı; üç yerel banka toplam 2,1 milyar yuan kredi sağladı.",
    "İkinci fazda 12.000 standart kabin kurulması planlanıyor; toplam yük yaklaşık 180 megavat olan tesis 2027'nin dördüncü çeyreğinde devreye alınacak.",
    "2024'te tamamlanan birinci fazın doluluk oranı yüzde 87'ye ulaştı; başlıca müşteriler yerel akıllı üretim şirketleri ve iki bulut sağlayıcısı.",
    "Lanstream Compute CEO'su Mara Lindqvist, düşük sıcaklık, yüzde 45'i aşan yenilenebilir enerji payı ve 5 milisaniyenin altındaki fiber gecikmesini gerekçe gösterdi.",
    "Belediye Başkan Yardımcısı Zhou Wentao, 220 kilovoltluk bir trafo merkezi kurulacağını ve 2026-2028 arasında kilovatsaat başına 0,08 yuan sübvansiyon verileceğini söyledi.",
    "Analistler, sıvı soğutmanın işletme ekiplerinden daha fazlasını istediği ve sübvansiyon sonrası getirinin belirsiz olduğu konusunda uyarıyor.",
    "Plana göre üçüncü fazın fizibilite çalışması 2027'de başlayacak ve toplam kapasitenin 30.000 kabini aşması bekleniyor.",
]
EN = [
    "The city library in Westbrook will extend its opening hours from next month, the council announced on Tuesday.",
    "Readers will be able to borrow books until nine in the evening on weekdays, and the children's corner gets a new storytelling programme.",
    "The council said the change follows a survey in which most residents asked for later hours after work.",
    "Volunteers from the local school will help staff the reading room during the first weeks of the trial.",
    "If the trial succeeds, the same hours could be introduced at the two branch libraries next year.",
]
OTHER_ZH = [
    "临江市云谷数据中心集群的二期工程今天正式开工，现场举行了简短的仪式。",
    "施工方表示，工程将分三个阶段推进，首批机柜预计在明年年底前完成安装调试。",
    "当地居民关心施工期间的噪音问题，管委会承诺夜间不进行高噪音作业。",
    "项目负责人介绍，园区将建设一座污水回用站，用于冷却系统的补水。",
    "此外，园区周边道路将同步拓宽，以满足大型设备运输的需要。",
    "管委会还计划在园区内设立人才公寓，为运维人员提供住宿保障。",
]
CHROME_A = ["首页 | 新闻 | 财经 | 科技", "免责声明：本文系网络转载，版权归原作者所有。"]
CHROME_B = ["网站导航 论坛 资讯 | 登录 注册", "Powered by Discuz! X3.4"]


def member(doc_id: int, paragraphs: list[str], lang: str, when: str | None = None) -> Member:
    text = "\n".join(paragraphs)
    fp = Fingerprinter().fingerprint(text)
    return Member(
        id=doc_id,
        content_key=fp.content_key,
        signature=fp.signature,
        shingles=fp.shingles,
        fetched_at=when or f"2026-03-{10 + doc_id:02d}T00:00:00",
        text_length=len(text),
        lang=lang,
        anchors=fp.anchors,
        weighted_length=weighted_length(text),
    )


def clusters_of(members: list[Member]) -> ClusterIndex:
    index = ClusterIndex(ClusterConfig())
    for m in members:
        index.add(m)
    return index


def together(index: ClusterIndex, a: int, b: int) -> bool:
    return index.union.find(a) == index.union.find(b)


def to_traditional(text: str) -> str:
    import opencc

    return opencc.OpenCC("s2t").convert(text)


VARIANTS = {
    "exact repost with other chrome": CHROME_B[:1] + ZH + CHROME_B[1:],
    "a sentence changed": [*ZH[:3], "据悉，该项目的融资方案早在去年年底就已基本敲定。", *ZH[4:]],
    "a paragraph removed": ZH[:2] + ZH[3:],
    "anti-copy tokens spliced in": [p[:10] + "@字%8Tst3%字@" + p[10:] for p in ZH],
    "traditional script": [to_traditional(p) for p in ZH],
}


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_reposts_cluster_with_their_original(name: str) -> None:
    original = member(1, CHROME_A[:1] + ZH + CHROME_A[1:], "zh-cn")
    repost = member(2, VARIANTS[name], "zh-cn")
    index = clusters_of([original, repost])
    assert together(index, 1, 2), name
    assert index.assignments()[2] == (1, 1)  # the earlier capture is canonical


def test_chinese_half_of_a_bilingual_page_joins_the_whole_page() -> None:
    english = [
        "On March 10, 2026, Linjiang disclosed that the Yungu data center cluster completed "
        "a second-phase financing round of 4.8 billion yuan, led by Lanstream Compute.",
        *EN,
    ]
    bilingual = member(1, [*ZH, "English translation", *english], "en")
    half = member(2, ZH, "zh-cn")
    assert together(clusters_of([bilingual, half]), 1, 2)


def test_different_articles_with_the_same_boilerplate_stay_apart() -> None:
    a = member(1, CHROME_A[:1] + ZH + CHROME_A[1:], "zh-cn")
    b = member(2, CHROME_A[:1] + OTHER_ZH + CHROME_A[1:], "zh-cn")
    c = member(3, EN, "en")
    index = clusters_of([a, b, c])
    assert not together(index, 1, 2)
    assert not together(index, 1, 3)
    assert len(index.clusters()) == 3


def test_a_quoted_paragraph_is_not_a_repost() -> None:
    a = member(1, ZH, "zh-cn")
    follow_up = member(2, [*OTHER_ZH, ZH[2]], "zh-cn")
    assert not together(clusters_of([a, follow_up]), 1, 2)


def test_translation_is_linked_not_clustered() -> None:
    zh = member(1, ZH, "zh-cn")
    tr = member(2, TR, "tr")
    en = member(3, EN, "en")
    index = clusters_of([zh, tr, en])
    assert not together(index, 1, 2)
    assert index.link_translations([1, 2, 3]) == {2: 1}


def test_anchors_agree_across_number_conventions() -> None:
    assert anchors("4,8 milyar ve 12.000 kabin, Lanstream Compute")[:3] == (
        "48",
        "12000",
        "lanstream compute",
    )
    assert anchors("48亿元和12000个机柜，Lanstream Compute领投")[:3] == (
        "48",
        "12000",
        "lanstream compute",
    )


def test_clusters_do_not_depend_on_arrival_order() -> None:
    docs = [
        (CHROME_A[:1] + ZH + CHROME_A[1:], "zh-cn"),
        *((v, "zh-cn") for v in VARIANTS.values()),
        (OTHER_ZH, "zh-cn"),
        (EN, "en"),
        (EN[:3], "en"),
        (TR, "tr"),
    ]
    members = [member(i, p, lang) for i, (p, lang) in enumerate(docs)]
    reference = clusters_of(members).assignments()
    for seed in range(5):
        shuffled = members[:]
        random.Random(seed).shuffle(shuffled)
        assert clusters_of(shuffled).assignments() == reference


def test_restored_index_adds_without_recomputing_old_pairs() -> None:
    first = clusters_of(
        [member(1, ZH, "zh-cn"), member(2, VARIANTS["a paragraph removed"], "zh-cn")]
    )
    saved = first.assignments()
    index = ClusterIndex(ClusterConfig())
    for doc_id, m in first.members.items():
        index.restore(m, saved[doc_id][0])
    index.add(member(3, VARIANTS["traditional script"], "zh-cn"))
    assert index.candidates_checked <= 2
    assert {index.union.find(i) for i in (1, 2, 3)} == {1}
