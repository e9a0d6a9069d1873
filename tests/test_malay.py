"""Malay is labelled `ms` and Indonesian stays `id` (langdetect calls both `id`).

The sentences are written for these tests, each pair saying the same thing in standard
Malay and standard Indonesian."""

from __future__ import annotations

from pathlib import Path

import pytest

from extractors.language import LanguageDetector
from extractors.malay import MALAY_MARGIN, WORDS_FILE, MalayIndonesian

PAIRS = [
    (
        "Kerajaan negeri akan membina sebuah hospital baharu kerana jumlah pesakit semakin bertambah.",
        "Pemerintah provinsi akan membangun rumah sakit baru karena jumlah pasien terus bertambah.",
    ),
    (
        "Syarikat itu mahu melabur lebih banyak wang dalam projek tenaga solar selepas pilihan raya.",
        "Perusahaan itu ingin menanamkan lebih banyak uang dalam proyek energi surya setelah pemilu.",
    ),
    (
        "Pihak polis sedang menjalankan siasatan ke atas kemalangan jalan raya yang berlaku pagi tadi.",
        "Polisi sedang melakukan penyidikan terhadap kecelakaan lalu lintas yang terjadi tadi pagi.",
    ),
    (
        "Beliau berkata bahawa universiti akan menawarkan lebih banyak biasiswa kepada pelajar.",
        "Ia mengatakan bahwa universitas akan menawarkan lebih banyak beasiswa kepada mahasiswa.",
    ),
    (
        "Kanak-kanak boleh menonton filem itu di pawagam pada hari Isnin dan Khamis.",
        "Anak-anak boleh menonton film itu di bioskop pada hari Senin dan Kamis.",
    ),
]


@pytest.fixture(scope="module")
def detector() -> LanguageDetector:
    return LanguageDetector()


@pytest.mark.parametrize(("malay", "indonesian"), PAIRS)
def test_each_sentence_gets_its_language(
    detector: LanguageDetector, malay: str, indonesian: str
) -> None:
    assert detector.detect(malay) == "ms"
    assert detector.detect(indonesian) == "id"


def test_a_document_of_paragraphs(detector: LanguageDetector) -> None:
    malay = detector.analyse([m for m, _ in PAIRS])
    indonesian = detector.analyse([i for _, i in PAIRS])
    assert (malay.lang, [s.lang for s in malay.segments]) == ("ms", ["ms"])
    assert (indonesian.lang, [s.lang for s in indonesian.segments]) == ("id", ["id"])


def test_one_word_malay_prefers_does_not_make_indonesian_malay(detector: LanguageDetector) -> None:
    text = "Kita tidak boleh menyerah sekarang, kata pelatih tim nasional kepada para pemain."
    malay, indonesian = MalayIndonesian.load().scores(text)
    assert 0 < malay - indonesian < MALAY_MARGIN
    assert detector.detect(text) == "id"


def test_other_languages_are_left_alone(detector: LanguageDetector) -> None:
    assert detector.detect("The government will build a new hospital in the city.") == "en"
    assert detector.detect("Hükümet şehirde yeni bir hastane inşa edecek.") == "tr"


def test_scores_count_words_and_phrases() -> None:
    words = MalayIndonesian.load()
    assert words.scores("Pilihan raya kerana wang") == (6, 0)  # phrase 2, kerana 2, wang 2
    assert words.scores("karena uang, rumah sakit") == (0, 5)  # 2 + 2 + phrase 1
    assert words.scores("KERANA, Kerana") == (4, 0)  # case folded


def test_the_word_list_is_well_formed(tmp_path: Path) -> None:
    words = MalayIndonesian.load()
    assert all(entry == " ".join(entry.lower().split()) for entry in words.weights)
    assert all((m == 0) != (i == 0) for m, i in words.weights.values())  # one side each
    clash = tmp_path / "words.toml"
    clash.write_text(
        WORDS_FILE.read_text(encoding="utf-8").replace('"karena",', '"karena", "kerana",', 1),
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match="listed twice"):
        MalayIndonesian.load(clash)
