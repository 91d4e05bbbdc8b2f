"""The LAReQA tasks inside mteb's own harness: registry, subsets, result files, shared encoding."""

from __future__ import annotations

import json

import mteb
import pytest
from mteb.cache import ResultCache
from mteb.models.sentence_transformer_wrapper import SentenceTransformerEncoderWrapper
from mteb.results import TaskResult

import xlr_bench  # noqa: F401
from xlr_bench.tasks.embedding_memo import memo_for
from xlr_bench.data.lareqa import candidate_text

EXPECTED = {
    "XQuADRRetrieval": 11, "XQuADRMonolingualRetrieval": 11, "XQuADRCrossLingualRetrieval": 110,
    "MLQARRetrieval": 7, "MLQARMonolingualRetrieval": 7, "MLQARCrossLingualRetrieval": 42,
}


def test_tasks_are_found_by_mteb_with_complete_metadata():
    for name, n_subsets in EXPECTED.items():
        task = mteb.get_task(name)
        assert len(task.hf_subsets) == n_subsets
        md = task.metadata
        assert md.license and md.bibtex_citation and md.sample_creation and md.domains and md.date
        assert md.main_score == "map_at_20"
    cross = mteb.get_task("XQuADRCrossLingualRetrieval")
    assert cross.metadata.eval_langs["de-en"] == ["deu-Latn", "eng-Latn"]
    assert "XQuADRRetrieval" in {t.metadata.name for t in mteb.get_tasks(tasks=["XQuADRRetrieval"])}


def test_cross_lingual_subset_filters_questions_absent_in_corpus_language(mlqa):
    task = mteb.get_task("MLQARCrossLingualRetrieval", hf_subsets=["de-es"])
    task.load_data()
    split = task.dataset["de-es"]["test"]
    with_answer = {q for q, rel in split["relevant_docs"].items() if rel}
    assert with_answer == set(split["queries"]["id"]) == set(split["relevant_docs"])
    assert 0 < len(with_answer) < len(mlqa.questions["de"])
    assert all(next(iter(rel)).startswith("es:") for rel in split["relevant_docs"].values())


@pytest.fixture(scope="module")
def evaluated(tiny_st, tmp_path_factory):
    wrapper = SentenceTransformerEncoderWrapper(tiny_st)
    tasks = [
        mteb.get_task("XQuADRRetrieval", hf_subsets=["de", "th"]),
        mteb.get_task("XQuADRMonolingualRetrieval", hf_subsets=["de-de", "th-th"]),
        mteb.get_task("XQuADRCrossLingualRetrieval", hf_subsets=["de-th", "th-de"]),
    ]
    out = tmp_path_factory.mktemp("results")
    result = mteb.evaluate(wrapper, tasks, cache=ResultCache(out), show_progress_bar=False,
                           encode_kwargs={"batch_size": 64, "show_progress_bar": False})
    return wrapper, result, out


def test_result_files_are_standard_mteb_results(evaluated):
    _, result, out = evaluated
    files = sorted(out.glob("results/*/*/*.json"))
    names = {f.stem for f in files}
    assert {"XQuADRRetrieval", "XQuADRMonolingualRetrieval", "XQuADRCrossLingualRetrieval", "model_meta"} <= names
    pooled = TaskResult.from_disk(next(f for f in files if f.stem == "XQuADRRetrieval"))
    scores = {s["hf_subset"]: s for s in pooled.scores["test"]}
    assert set(scores) == {"de", "th"}
    for s in scores.values():
        assert 0 < s["map"] <= 1 and 0 < s["map_at_20"] <= 1 and s["rank_distance"] > 0
        assert s["main_score"] == s["map_at_20"]
    mono = json.loads(next(f for f in files if f.stem == "XQuADRMonolingualRetrieval").read_text())
    assert "rank_distance" not in mono["scores"]["test"][0]


def test_each_distinct_text_is_encoded_once(evaluated, xquad):
    wrapper, _, _ = evaluated
    memo = memo_for(wrapper)
    distinct_docs = {candidate_text(c) for lang in xquad.languages for c in xquad.candidates[lang]}
    distinct_queries = {q.text for lang in ("de", "th") for q in xquad.questions[lang]}
    assert memo.encoded == len(distinct_docs) + len(distinct_queries)
    assert memo.requested > 2 * memo.encoded


def test_column_access_honours_selected_rows():
    from datasets import Dataset

    from xlr_bench.tasks.full_rank import _column

    subset = Dataset.from_dict({"id": ["a", "b", "c"], "text": ["x", "y", "z"]}).select([2, 0])
    assert _column(subset, "id") == ["c", "a"] and _column(subset, "text") == ["z", "x"]


def test_memo_texts_are_mtebs_own_and_mapped_once_per_corpus(monkeypatch):
    """The cached text of each corpus entry is exactly mteb's; a corpus shared by subsets is mapped once."""
    from mteb.types import PromptType

    from xlr_bench.core import mteb_adapter

    import xlr_bench.tasks.embedding_memo as embedding_memo
    from xlr_bench.tasks.embedding_memo import EmbeddingMemo

    task = mteb.get_task("XQuADRCrossLingualRetrieval", hf_subsets=["de-th", "en-th"])
    task.load_data()
    corpora = [task.dataset[s]["test"]["corpus"] for s in ("de-th", "en-th")]
    calls = []
    monkeypatch.setattr(embedding_memo, "retrieval_texts",
                        lambda d, p: calls.append(p) or mteb_adapter.retrieval_texts(d, p))
    memo = EmbeddingMemo()
    texts = [memo.texts(corpus, PromptType.document) for corpus in corpora]
    assert texts[0] == texts[1] == list(mteb_adapter.retrieval_texts(corpora[0], PromptType.document))
    assert len(texts[0]) == len(corpora[0]) > 800 and isinstance(texts[0], list) and calls == [PromptType.document]
