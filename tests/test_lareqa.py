"""LAReQA parsing on the real XQuAD-R / MLQA-R files: counts from the data README, relevance rules."""

from __future__ import annotations

import json

import pytest

from xlr_bench.core.errors import XLRBenchError
from xlr_bench.data.lareqa import candidate_text, parse_file

XQUAD_CANDIDATES = {"ar": 1222, "de": 1276, "el": 1234, "en": 1180, "es": 1215, "hi": 1244, "ru": 1219,
                    "th": 852, "tr": 1167, "vi": 1209, "zh": 1196}
MLQA_COUNTS = {"ar": (517, 2545), "de": (512, 2362), "en": (1148, 6264), "es": (500, 1787),
               "hi": (507, 2426), "vi": (511, 2828), "zh": (504, 2322)}


def test_xquad_counts_match_readme(xquad):
    assert {lang: len(c) for lang, c in xquad.candidates.items()} == XQUAD_CANDIDATES
    assert sum(len(c) for c in xquad.candidates.values()) == 13014
    assert all(len(qs) == 1190 for qs in xquad.questions.values())


def test_every_xquad_question_has_eleven_relevant_one_per_language(xquad):
    for qs in xquad.questions.values():
        for q in qs:
            relevant = xquad.relevant(q.qid)
            assert len(relevant) == 11
            assert {cid.split(":")[0] for cid in relevant} == set(xquad.languages)


def test_relevant_sentence_holds_the_answer(xquad, data_dir):
    raw = json.loads((data_dir / "lareqa/xquad-r/de.json").read_text())
    para = raw["data"][3]["paragraphs"][1]
    qa = para["qas"][0]
    cid = xquad.answer_of[("de", qa["id"])]
    _, a, p, s = cid.split(":")
    assert (int(a), int(p)) == (3, 1)
    begin, end = para["sentence_breaks"][int(s)]
    assert begin <= qa["answers"][0]["answer_start"] < end
    assert qa["answers"][0]["text"] in para["sentences"][int(s)]


def test_mlqa_counts_and_partial_parallelism(mlqa):
    assert {lang: (len(mlqa.questions[lang]), len(mlqa.candidates[lang])) for lang in mlqa.languages} == MLQA_COUNTS
    assert sum(len(c) for c in mlqa.candidates.values()) == 20534
    sizes = {len(mlqa.relevant(q.qid)) for qs in mlqa.questions.values() for q in qs}
    assert sizes == {2, 3, 4}
    # a question missing in a language has no relevant candidate there
    de_only = next(q for q in mlqa.questions["de"] if ("es", q.qid) not in mlqa.answer_of)
    assert mlqa.relevant(de_only.qid, ["es"]) == set()


def test_identical_sentences_stay_distinct_candidates(xquad):
    ar = xquad.candidates["ar"]
    by_text: dict[str, list[str]] = {}
    for c in ar:
        by_text.setdefault(c.sentence, []).append(c.id)
    dupes = [ids for ids in by_text.values() if len(ids) > 1]
    assert dupes, "XQuAD-R ar has repeated sentence texts (1222 sentences, 1220 distinct)"
    assert all(len(set(ids)) == len(ids) for ids in dupes)


def test_candidate_text_is_sentence_then_context(xquad):
    c = xquad.candidates["en"][5]
    assert candidate_text(c) == f"{c.sentence} {c.context}"
    assert candidate_text(c, sentence_only=True) == c.sentence


def test_malformed_file_names_file_and_position(tmp_path, data_dir):
    broken = tmp_path / "de.json"
    broken.write_bytes((data_dir / "lareqa/xquad-r/de.json").read_bytes()[:5000])
    with pytest.raises(XLRBenchError, match=r"de\.json.*line \d+, column \d+"):
        parse_file(broken, "de")
