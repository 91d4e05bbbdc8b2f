"""mteb's own task checks on every registered task, the statistics they read, and the MLQA-R fix."""

from __future__ import annotations

import json

import mteb
import pytest

import xlr_bench
from xlr_bench.tasks.quality import EXEMPTIONS, metadata_problems, quality_problems, task_findings

OWN_TASKS = sorted(xlr_bench.TASK_NAMES)


def test_every_repository_task_is_checked():
    assert len(OWN_TASKS) == 11 and "MLQARCrossLingualRetrieval" in OWN_TASKS
    assert set(EXEMPTIONS) <= set(OWN_TASKS)


@pytest.mark.parametrize("name", OWN_TASKS)
def test_mteb_metadata_test_passes(name):
    """test_all_metadata_is_filled_and_valid's assertions, plus the hub repo-id form of dataset.path."""
    task = mteb.get_task(name)
    assert metadata_problems(task) == []
    assert task.metadata.descriptive_stat_path.is_file()
    assert task.metadata.n_samples["test"] > 0


@pytest.mark.parametrize("name", OWN_TASKS)
def test_mteb_quality_checks_pass_or_are_exempted_with_a_reason(name):
    task = mteb.get_task(name)
    assert quality_problems(task) == []
    assert all(len(reason) > 80 for reason in EXEMPTIONS.get(name, {}).values())


def test_no_zero_relevant_and_only_intended_duplicates_per_subset():
    """Duplication is exempted only where the protocol shares a corpus: per subset it is within tolerance."""
    for name in ("XQuADRRetrieval", "XQuADRCrossLingualRetrieval", "MLQARCrossLingualRetrieval"):
        stats = mteb.get_task(name).metadata.descriptive_stats["test"]
        for subset, s in stats["hf_subset_descriptive_stats"].items():
            assert s["relevant_docs_statistics"]["min_relevant_docs_per_query"] >= 1, (name, subset)
            assert s["documents_text_statistics"]["unique_texts"] >= 0.99 * s["num_documents"], (name, subset)
        assert stats["num_documents"] > 5 * stats["documents_text_statistics"]["unique_texts"]  # shared pool


@pytest.fixture(scope="module")
def mlqa_cross_ar_de():
    task = mteb.get_task("MLQARCrossLingualRetrieval", hf_subsets=["ar-de"])
    task.load_data()
    return task


def test_mlqa_cross_lingual_subsets_hold_only_answerable_queries(mlqa_cross_ar_de, mlqa):
    split = mlqa_cross_ar_de.dataset["ar-de"]["test"]
    answerable = {q.id for q in mlqa.questions["ar"] if mlqa.relevant(q.qid, ["de"])}
    assert len(mlqa.questions["ar"]) == 517 and len(answerable) == 207
    assert set(split["queries"]["id"]) == set(split["relevant_docs"]) == answerable
    assert all(docs and all(d.startswith("de:") for d in docs) for docs in split["relevant_docs"].values())
    stats = mteb.get_task("MLQARCrossLingualRetrieval").metadata.descriptive_stats["test"]
    assert stats["hf_subset_descriptive_stats"]["ar-de"]["num_queries"] == 207


def test_quality_checks_catch_a_query_without_relevant_documents(mlqa_cross_ar_de, tmp_path, monkeypatch):
    """The checker is not a rubber stamp: mteb's statistics of a subset with an unanswerable query fail it."""
    task = mlqa_cross_ar_de
    split = task.dataset["ar-de"]["test"]
    task.dataset["ar-de"]["test"] = {**split, "relevant_docs": {**split["relevant_docs"], split["queries"]["id"][0]: {}}}
    monkeypatch.setattr(task.metadata, "_stats_dir", tmp_path)
    # mteb's overall statistics walk metadata.eval_langs: narrow it to the loaded subset
    monkeypatch.setattr(task.metadata, "eval_langs", {"ar-de": task.metadata.eval_langs["ar-de"]})
    try:
        stats = task.calculate_descriptive_statistics(overwrite_results=True)
    finally:
        task.dataset["ar-de"]["test"] = split
    assert "zero_relevant_docs:relevant_docs_statistics" in task_findings(task.metadata.name, stats)
    assert any("zero_relevant_docs" in p for p in quality_problems(task))


@pytest.mark.parametrize("name", ["AfriQARetrieval", "XQuADRSentenceMonolingualRetrieval"])
def test_committed_statistics_are_what_mteb_computes(name, tmp_path, monkeypatch):
    """The shipped JSON equals a fresh run of mteb's calculate_descriptive_statistics() (cheap tasks)."""
    task = mteb.get_task(name)
    committed = json.loads(task.metadata.descriptive_stat_path.read_text(encoding="utf-8"))
    monkeypatch.setattr(task.metadata, "_stats_dir", tmp_path)
    fresh = task.calculate_descriptive_statistics(overwrite_results=True)
    assert json.loads(json.dumps(fresh)) == committed
    assert (tmp_path / f"{name}.json").is_file()
