"""AfriQA as cross-lingual retrieval, on the real shared data files."""

from __future__ import annotations

import json
from pathlib import Path

import mteb
import pytest
from mteb.cache import ResultCache
from mteb.models.sentence_transformer_wrapper import SentenceTransformerEncoderWrapper
from mteb.results import TaskResult

import xlr_bench
from xlr_bench.definitions.tasks import TASKS_ENV

ALL_LANGS = ["bem", "fon", "hau", "ibo", "kin", "swa", "twi", "wol", "yor", "zul"]


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="module")
def files(data_dir) -> dict[str, tuple[list[dict], list[dict]]]:
    """``{lang: (questions, gold passages)}`` of the test split, read straight from the files."""
    found = {}
    for lang in ALL_LANGS:
        passages = list((data_dir / "afriqa" / "gold_passages" / lang).glob(f"*.{lang}.*.test.json"))
        if passages:
            questions = next((data_dir / "afriqa" / "queries" / lang).glob(f"*.{lang}.*.test.json"))
            found[lang] = (_rows(questions), _rows(passages[0]))
    return found


@pytest.fixture(scope="module")
def loaded():
    task = mteb.get_task("AfriQARetrieval")
    task.load_data()
    return task


def test_subsets_are_the_languages_with_test_gold_passages(files):
    task = mteb.get_task("AfriQARetrieval")
    assert task.hf_subsets == sorted(files)
    assert "wol" not in task.hf_subsets and "wol" not in files
    assert task.metadata.eval_langs["hau"] == ["hau-Latn", "eng-Latn", "fra-Latn"]
    md = task.metadata
    assert md.main_score == "ndcg_at_10" and md.license == "cc-by-4.0" and md.sample_creation == "found"
    assert "Ogundepo" in md.bibtex_citation and md.domains and md.date and md.dataset["revision"]
    pivot = mteb.get_task("AfriQAPivotRetrieval")
    assert pivot.hf_subsets == task.hf_subsets and pivot.metadata.sample_creation == "human-translated"
    assert pivot.metadata.eval_langs["fon"][0] == "fra-Latn" and pivot.metadata.eval_langs["hau"][0] == "eng-Latn"


def test_counts_match_the_files_and_relevant_ids_resolve(files, loaded):
    usable = {lang: {str(p["id"]): ((p["title"] or "").strip(), p["context"].strip())
                     for p in passages if (p["context"] or "").strip()}
              for lang, (_, passages) in files.items()}
    n_docs = sum(len(v) for v in usable.values())
    for lang, (questions, _) in files.items():
        split = loaded.dataset[lang]["test"]
        corpus = dict(zip(split["corpus"]["id"], zip(split["corpus"]["title"], split["corpus"]["text"])))
        assert len(corpus) == n_docs  # the pooled corpus: every language's non-empty gold passages
        expected = [str(q["id"]) for q in questions if str(q["id"]) in usable[lang]]
        assert list(split["queries"]["id"]) == expected
        for qid, relevant in split["relevant_docs"].items():
            own = f"{lang}:{qid}"
            assert own in relevant and all(corpus[d] == corpus[own] for d in relevant)
    hau = loaded.dataset["hau"]["test"]
    assert len(hau["queries"]) == len(files["hau"][0]) == 300


def test_pivot_queries_are_the_human_translations(files):
    pivot = mteb.get_task("AfriQAPivotRetrieval", hf_subsets=["fon"])
    pivot.load_data()
    queries = pivot.dataset["fon"]["test"]["queries"]
    translated = {str(q["id"]): q["translated_question"] for q in files["fon"][0]}
    assert all(translated[qid] == text for qid, text in zip(queries["id"], queries["text"]))


def test_a_split_without_gold_passages_drops_the_language(tmp_path, monkeypatch):
    (tmp_path / "AfriQADev.toml").write_text(
        'extends = "AfriQARetrieval"\nname = "AfriQADevRetrieval"\n[metadata]\neval_splits = ["dev"]\n', encoding="utf-8")
    monkeypatch.setenv(TASKS_ENV, str(tmp_path))
    xlr_bench.register_all()
    task = mteb.get_task("AfriQADevRetrieval")
    assert task.hf_subsets == ["bem", "fon", "hau", "ibo", "kin", "twi", "zul"]  # no dev passages: swa, wol, yor


def test_evaluate_two_subsets_with_mteb(tiny_st, tmp_path):
    """Both tasks on hau and yor (the pooled corpus is encoded once for both). The tiny encoder is
    random, so only the English pivot questions, which share words with the passages, are sure to
    score above zero at 10; the African-language questions must still find passages within 100."""
    tasks = [mteb.get_task(name, hf_subsets=["hau", "yor"]) for name in ("AfriQARetrieval", "AfriQAPivotRetrieval")]
    mteb.evaluate(SentenceTransformerEncoderWrapper(tiny_st), tasks, cache=ResultCache(tmp_path),
                  show_progress_bar=False, encode_kwargs={"batch_size": 64, "show_progress_bar": False})
    for name in ("AfriQARetrieval", "AfriQAPivotRetrieval"):
        result = TaskResult.from_disk(next(tmp_path.glob(f"results/*/*/{name}.json")))
        scores = {s["hf_subset"]: s for s in result.scores["test"]}
        assert set(scores) == {"hau", "yor"}
        for s in scores.values():
            assert 0 <= s["ndcg_at_10"] <= 1 and s["main_score"] == s["ndcg_at_10"] and s["recall_at_100"] > 0
            assert s["ndcg_at_10"] > 0 or name == "AfriQARetrieval"
