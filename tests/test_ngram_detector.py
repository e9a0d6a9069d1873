"""NgramDetector gives langdetect's labels: the same algorithm on the same profiles."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from langdetect.detector_factory import PROFILES_DIRECTORY, DetectorFactory
from langdetect.lang_detect_exception import LangDetectException

from extractors.language import LANGDETECT_CHARS
from extractors.ngram_detector import NgramDetector, load_profiles

SENTENCES = (
    "The council agreed on Tuesday to reopen the old ferry pier after the repairs.",
    "Der Stadtrat hat am Dienstag beschlossen, den alten Fähranleger wieder zu öffnen.",
    "Le conseil municipal a décidé mardi de rouvrir l'ancien embarcadère du ferry.",
    "El ayuntamiento acordó el martes reabrir el antiguo muelle del transbordador.",
    "O conselho decidiu na terça-feira reabrir o antigo cais da balsa depois das obras.",
    "Il consiglio comunale ha deciso martedì di riaprire il vecchio molo dei traghetti.",
    "De gemeenteraad besloot dinsdag de oude veerpier na de reparaties te heropenen.",
    "Rada miasta zdecydowała we wtorek o ponownym otwarciu starego pomostu promowego.",
    "Belediye meclisi salı günü eski feribot iskelesini onarımdan sonra yeniden açtı.",
    "Dewan kota sepakat pada hari Selasa untuk membuka kembali dermaga feri yang lama.",
    "Hội đồng thành phố đã đồng ý mở lại bến phà cũ sau khi sửa chữa xong.",
    "Городской совет во вторник решил вновь открыть старый паромный причал.",
    "وافق المجلس البلدي يوم الثلاثاء على إعادة فتح رصيف العبارات القديم.",
    "市议会周二同意在维修完成后重新开放旧渡轮码头。",
    "NASA and the EU signed it",  # all-capital words
    "see https://example.org/a?b=c or mail desk@example.org",  # URLs and mail removed
    "   spaced    out     text   ",
    "12345 67890",  # no letters: nothing to detect
    "",
)


@cache
def factory() -> DetectorFactory:
    f = DetectorFactory()
    f.load_profile(PROFILES_DIRECTORY)
    f.set_seed(0)
    return f


@cache
def detector() -> NgramDetector:
    return NgramDetector(seed=0, max_chars=LANGDETECT_CHARS)


def langdetect_label(text: str) -> str | None:
    d = factory().create()
    d.set_max_text_length(LANGDETECT_CHARS)
    d.append(text)
    try:
        return d.detect()
    except LangDetectException:
        return None


def test_same_labels_on_sentences() -> None:
    for text in SENTENCES:
        assert detector().detect(text) == langdetect_label(text), text


def test_same_labels_on_long_text_cut_at_the_limit() -> None:
    text = " ".join(SENTENCES[:3]) * 20
    assert len(text) > LANGDETECT_CHARS
    assert detector().detect(text) == langdetect_label(text)


def test_same_ngrams_and_probabilities() -> None:
    """Row for row and float for float, where langdetect reports them (above 0.1)."""
    text = SENTENCES[1]
    d = factory().create()
    d.set_max_text_length(LANGDETECT_CHARS)
    d.append(text)
    d.cleaning_text()
    ngrams = d._extract_ngrams()
    ours = detector().ngrams(detector().prepare(text))
    row = {gram: i for i, gram in enumerate(factory().word_lang_prob_map)}
    assert ours == [row[g] for g in ngrams]
    expected = dict.fromkeys(factory().langlist, 0.0)
    for lang in d.get_probabilities():
        expected[lang.lang] = lang.prob
    got = dict(zip(detector().langs, detector().probabilities(ours).tolist(), strict=True))
    assert {k: v for k, v in got.items() if v > 0.1} == {
        k: v for k, v in expected.items() if v > 0.1
    }


ALPHABET = "aAbBcCeEnNsStTzZ éÉüÜßıİçşğöÖñ中文字かカ한글Бб.,;-'1 \t"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=st.sampled_from(ALPHABET), max_size=60))
def test_same_labels_on_generated_text(text: str) -> None:
    assert detector().detect(text) == langdetect_label(text)


def test_profiles_are_langdetects_own() -> None:
    profiles = load_profiles(Path(PROFILES_DIRECTORY))
    ours = factory()
    assert profiles.langs == ours.langlist  # the same columns, in langdetect's order
    assert list(profiles.rows) == list(ours.word_lang_prob_map)
    assert np.array_equal(profiles.matrix, np.array(list(ours.word_lang_prob_map.values())))
    assert not profiles.matrix.flags.writeable  # shared by every detector of the process
    assert load_profiles(Path(PROFILES_DIRECTORY)) is profiles
