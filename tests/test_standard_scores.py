"""xlr-bench's array computation of mteb's standard retrieval scores equals mteb's own, exactly.

Reference: ``mteb._evaluators.retrieval_metrics.calculate_retrieval_scores`` (through the adapter),
on top-100 runs of real XQuAD-R subsets embedded by the tiny model, on the same runs with scores
rounded so that many tie (pytrec_eval's and mteb's tie order by document id matters then), and on
degenerate runs (runs of uneven length, single documents, constant metrics that make nAUC undefined).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from xlr_bench.core.mteb_adapter import calculate_retrieval_scores
from xlr_bench.data.lareqa import candidate_text
from xlr_bench.metrics import rank_corpus
from xlr_bench.tasks.standard_scores import standard_scores

K_VALUES = [1, 3, 5, 10, 20, 100]
FIELDS = ("ndcg", "map", "recall", "precision", "mrr", "hit_rate", "naucs", "naucs_mrr")


def _assert_identical(ours, reference, path: str = "") -> None:
    """Same keys in the same order and the same values, bit for bit (NaN where mteb has NaN)."""
    if isinstance(reference, dict):
        assert list(ours) == list(reference), path
        for key in reference:
            _assert_identical(ours[key], reference[key], f"{path}.{key}")
    elif isinstance(reference, float) and math.isnan(reference):
        assert math.isnan(ours), path
    else:
        assert ours == reference, f"{path}: {ours!r} != {reference!r}"


def _compare(run: dict, qrels: dict, k_values=K_VALUES) -> None:
    ours, reference = standard_scores(run, qrels, k_values), calculate_retrieval_scores(run, qrels, k_values)
    for field in FIELDS:
        _assert_identical(getattr(ours, field), getattr(reference, field), field)


@pytest.fixture(scope="module")
def cross_lingual_runs(xquad, tiny_st):
    """Top-100 runs of four real cross-lingual subsets (questions of one language, candidates of another)."""
    runs = []
    for q_lang, c_lang in [("de", "en"), ("th", "de"), ("en", "th"), ("ar", "zh")]:
        cands = xquad.candidates[c_lang]
        questions = xquad.questions[q_lang][:300]
        qrels = {q.id: {c: 1 for c in xquad.relevant(q.qid, [c_lang])} for q in questions}
        q_emb = tiny_st.encode([q.text for q in questions], prompt_name="query", convert_to_numpy=True)
        c_emb = tiny_st.encode([candidate_text(c) for c in cands], prompt_name="document", convert_to_numpy=True)
        runs.append((list(qrels), q_emb, [c.id for c in cands], c_emb, qrels))
    return runs


def test_equal_to_mteb_on_real_subsets(cross_lingual_runs):
    for qids, q_emb, ids, c_emb, qrels in cross_lingual_runs:
        _compare(rank_corpus(qids, q_emb, ids, c_emb, qrels, top_k=100).run, qrels)


def test_equal_to_mteb_when_scores_tie(cross_lingual_runs):
    qids, q_emb, ids, c_emb, qrels = cross_lingual_runs[0]
    run = rank_corpus(qids, q_emb, ids, c_emb, qrels, top_k=100).run
    tied = {q: {d: round(s, 2) for d, s in docs.items()} for q, docs in run.items()}
    relevant_tied = sum(1 for q, docs in tied.items() for d in qrels[q] if d in docs
                        and list(docs.values()).count(docs[d]) > 1)
    assert relevant_tied > 20  # the tie-break by document id is exercised, for MRR and pytrec_eval alike
    _compare(tied, qrels)


def test_equal_to_mteb_on_degenerate_runs():
    qrels = {"q1": {"a": 1, "b": 0}, "q2": {"c": 1}, "q3": {"x": 1}, "q4": {"b": 2, "d": 1}}
    uneven = {"q1": {"a": 0.5, "b": 0.5, "c": 0.1}, "q2": {"c": 0.2}, "q3": {"a": 0.9, "b": 0.3},
              "q4": {"d": 0.7, "b": 0.7, "a": 0.7, "c": 0.6}}
    _compare(uneven, qrels)
    single = {q: {"c": 0.3} for q in qrels}  # one document each: diff1 is 0, every metric constant per query
    _compare(single, qrels, [1, 3])
    constant = {q: {"a": 0.9, "b": 0.8, "c": 0.7, "d": 0.1} for q in qrels}
    _compare(constant, qrels, [1, 2, 10])
