"""Full-ranking metrics against independent references on real XQuAD-R data and a tiny model.

References: pytrec_eval on the *full* run (every document scored), a direct implementation of
LAReQA's AP formula walking the sorted list, and rank distance read off that list.
"""

from __future__ import annotations

import numpy as np
import pytest
import pytrec_eval
import torch

from xlr_bench.core.mteb_adapter import calculate_retrieval_scores
from xlr_bench.data.lareqa import candidate_text
from xlr_bench.metrics import Ranking, average_precision, cosine, full_rank_scores, ndcg, rank_corpus, rank_distance

N_QUERIES = 150


@pytest.fixture(scope="module")
def pooled_slice(xquad, tiny_st):
    """German + English questions against the de+en candidate pool, embedded by the tiny model."""
    langs = ["de", "en"]
    cands = [c for lang in langs for c in xquad.candidates[lang]]
    n = len(cands)
    # ids that decrease along the corpus: trec_eval breaks ties by docno descending, we by corpus
    # order, so both references rank tied documents identically
    ids = [f"{n - i:06d}" for i in range(n)]
    to_id = {c.id: ids[i] for i, c in enumerate(cands)}
    questions = [q for lang in langs for q in xquad.questions[lang][:N_QUERIES]]
    qrels = {q.id: {to_id[c]: 1 for c in xquad.relevant(q.qid, langs)} for q in questions}
    q_emb = tiny_st.encode([q.text for q in questions], prompt_name="query", convert_to_numpy=True)
    c_emb = tiny_st.encode([candidate_text(c) for c in cands], prompt_name="document", convert_to_numpy=True)
    scores = cosine(torch.as_tensor(q_emb), torch.as_tensor(c_emb)).float().numpy()
    return [q.id for q in questions], q_emb, ids, c_emb, qrels, scores


def _sorted_docs(row: np.ndarray) -> np.ndarray:
    return np.argsort(-row, kind="stable")


def _per_query_definitions(ranking: Ranking) -> tuple[dict[str, float], dict[str, list[float]]]:
    """full_rank_scores' values from the one-query definitions, query by query."""
    ranks = [ranking.relevant_ranks[q] for q in sorted(ranking.relevant_ranks)]
    distance = [rank_distance(r) for r in ranks]
    return ({"map": float(np.mean([average_precision(r) for r in ranks])), "rank_distance": float(np.mean(distance))},
            {"map_at_20": [average_precision(r, 20) for r in ranks], "ndcg_at_10": [ndcg(r, 10) for r in ranks],
             "rank_distance": distance})


def test_subset_scores_are_the_per_query_definitions_to_the_bit(pooled_slice):
    """Computed for all queries of a width at once, every value is the one-query function's, bit for bit:
    on the real slice, and on ranks of 0-30 relevant documents with hits on both sides of each cut-off
    (sums of 8 or more terms are where a change of summation order would show)."""
    qids, q_emb, ids, c_emb, qrels, _ = pooled_slice
    rng = np.random.default_rng(7)
    near = {f"n{i:04d}": np.sort(rng.choice(np.arange(1, 40), size=rng.integers(0, 30), replace=False)) for i in range(600)}
    far = {f"f{i:04d}": np.sort(rng.choice(np.arange(1, 13_000), size=rng.integers(0, 30), replace=False)) for i in range(600)}
    for ranking in (rank_corpus(qids, q_emb, ids, c_emb, qrels, top_k=100), Ranking(relevant_ranks=near | far, run={})):
        assert full_rank_scores(ranking, pooled=True) == _per_query_definitions(ranking)


def test_full_map_and_cutoff_metrics_agree_with_pytrec_eval(pooled_slice):
    qids, q_emb, ids, c_emb, qrels, scores = pooled_slice
    ranking = rank_corpus(qids, q_emb, ids, c_emb, qrels, top_k=100, block_size=64)
    full_run = {q: {d: float(s) for d, s in zip(ids, scores[i])} for i, q in enumerate(qids)}
    reference = pytrec_eval.RelevanceEvaluator(qrels, {"map", "ndcg_cut.10", "recall.10", "map_cut.20"}).evaluate(full_run)
    ours, per_query = full_rank_scores(ranking, pooled=True)
    assert per_query["map_at_20"] == [average_precision(ranking.relevant_ranks[q], 20) for q in sorted(qids)]
    assert ours["map"] == pytest.approx(np.mean([reference[q]["map"] for q in qids]), abs=1e-6)
    # mteb's standard metrics from our truncated top-k run equal pytrec_eval on the full run
    standard = calculate_retrieval_scores(ranking.run, qrels, [10, 20])
    assert standard.ndcg["NDCG@10"] == pytest.approx(np.mean([reference[q]["ndcg_cut_10"] for q in qids]), abs=1e-5)
    # our per-query nDCG@10 (kept for AfriQA's paired tests) is trec_eval's, query by query
    np.testing.assert_allclose(per_query["ndcg_at_10"], [reference[q]["ndcg_cut_10"] for q in sorted(qids)], atol=1e-6)
    assert standard.recall["Recall@10"] == pytest.approx(np.mean([reference[q]["recall_10"] for q in qids]), abs=1e-5)
    # XTREME-R's AP@20 (divisor min(R, 20)) equals pytrec_eval's map_cut_20 here because R = 2 <= 20
    ap20 = np.mean([average_precision(ranking.relevant_ranks[q], 20) for q in qids])
    assert ap20 == pytest.approx(standard.map["MAP@20"], abs=1e-5)
    assert 0 < ours["map"] < 1


def test_lareqa_ap_and_rank_distance_match_direct_walk(pooled_slice):
    qids, q_emb, ids, c_emb, qrels, scores = pooled_slice
    ranking = rank_corpus(qids, q_emb, ids, c_emb, qrels, top_k=10, block_size=50)
    for i, q in enumerate(qids):
        order = _sorted_docs(scores[i])
        hits, precision_sum, positions = 0, 0.0, []
        for rank, doc in enumerate(order, start=1):
            if ids[doc] in qrels[q]:
                hits += 1
                precision_sum += hits / rank
                positions.append(rank)
        assert average_precision(ranking.relevant_ranks[q]) == pytest.approx(precision_sum / len(qrels[q]))
        assert rank_distance(ranking.relevant_ranks[q]) == max(positions) - min(positions)


def test_ties_are_broken_by_corpus_order():
    corpus = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 0.0], [0.6, 0.8]])
    query = torch.tensor([[1.0, 0.0]])
    qrels = {"q": {"d2": 1, "d4": 1}}
    ranking = rank_corpus(["q"], query, ["d0", "d1", "d2", "d3", "d4"], corpus, qrels, top_k=5)
    # d0, d2, d3 tie at 1.0 (d2 is second among them), d4 scores 0.6, d1 scores 0
    assert ranking.relevant_ranks["q"].tolist() == [2, 4]
    assert average_precision(ranking.relevant_ranks["q"]) == pytest.approx((1 / 2 + 2 / 4) / 2)
    assert rank_distance(ranking.relevant_ranks["q"]) == 2


def test_cutoff_ap_counts_only_hits_within_k():
    ranks = np.array([1, 5, 30])
    assert average_precision(ranks, 20) == pytest.approx((1 + 2 / 5) / 3)
    assert average_precision(ranks, 2) == pytest.approx(1 / 2)
    assert average_precision(ranks) == pytest.approx((1 + 2 / 5 + 3 / 30) / 3)


def test_identical_ids_can_be_ignored():
    corpus = torch.tensor([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0]])
    qrels = {"d0": {"d0": 1, "d1": 1}}
    kept = rank_corpus(["d0"], torch.tensor([[1.0, 0.0]]), ["d0", "d1", "d2"], corpus, qrels, top_k=3)
    dropped = rank_corpus(["d0"], torch.tensor([[1.0, 0.0]]), ["d0", "d1", "d2"], corpus, qrels, top_k=3,
                          ignore_identical_ids=True)
    assert kept.relevant_ranks["d0"].tolist() == [1, 2]
    assert dropped.relevant_ranks["d0"].tolist() == [1] and "d0" not in dropped.run["d0"]


def _sorted_ranking(query_ids, query_emb, corpus_ids, corpus_emb, qrels, *, top_k, block_size=256,
                    ignore_identical_ids=False):
    """The full stable sort that ``rank_corpus`` used to run (and whose numbers it must keep).

    Scores are computed in the same query blocks: a matmul's last bits depend on its shape.
    """
    q, c = torch.as_tensor(np.asarray(query_emb)), torch.as_tensor(np.asarray(corpus_emb))
    scores = torch.cat([cosine(q[i : i + block_size], c) for i in range(0, len(q), block_size)]).float()
    position = {d: i for i, d in enumerate(corpus_ids)}
    ranks, run = {}, {}
    for row, qid in enumerate(query_ids):
        if ignore_identical_ids and qid in position:
            scores[row, position[qid]] = float("-inf")
        order = torch.sort(scores[row], descending=True, stable=True).indices
        rank_of = torch.empty_like(order)
        rank_of[order] = torch.arange(1, len(order) + 1)
        rel = [position[d] for d, g in qrels.get(qid, {}).items()
               if g > 0 and d in position and not (ignore_identical_ids and d == qid)]
        ranks[qid] = np.sort(rank_of[rel].numpy())
        top = order[:top_k]
        run[qid] = {corpus_ids[j]: s for j, s in zip(top.tolist(), scores[row, top].tolist()) if s != float("-inf")}
    return ranks, run


def _assert_same_ranking(ranking, ranks, run):
    assert ranking.relevant_ranks.keys() == ranks.keys()
    for qid in ranks:
        assert ranking.relevant_ranks[qid].tolist() == ranks[qid].tolist(), qid
        assert list(ranking.run[qid].items()) == list(run[qid].items()), qid  # same docs, scores, order


@pytest.mark.parametrize("decimals", [None, 1])
def test_counting_ranks_and_partial_top_k_equal_the_full_stable_sort(pooled_slice, decimals):
    """Real XQuAD-R embeddings; rounded to 1 decimal, most scores tie, across the top-k boundary too."""
    qids, q_emb, ids, c_emb, qrels, _ = pooled_slice
    if decimals is not None:
        q_emb, c_emb = np.round(q_emb, decimals), np.round(c_emb, decimals)
    for top_k, block in [(100, 64), (20, 7), (len(ids) + 5, 256)]:
        ranking = rank_corpus(qids, q_emb, ids, c_emb, qrels, top_k=top_k, block_size=block)
        _assert_same_ranking(ranking, *_sorted_ranking(qids, q_emb, ids, c_emb, qrels, top_k=top_k, block_size=block))


def test_counting_ranks_equal_the_sort_with_identical_ids_ignored(pooled_slice):
    qids, q_emb, ids, c_emb, _, _ = pooled_slice
    # queries that are corpus documents (as in mteb's ignore_identical_ids tasks), ranked against the rest
    doc_ids, doc_emb = ids[:300], np.round(c_emb[:300], 1)
    qrels = {d: {doc_ids[(i + 1) % 300]: 1, d: 1} for i, d in enumerate(doc_ids[:40])}
    ranking = rank_corpus(doc_ids[:40], doc_emb[:40], doc_ids, doc_emb, qrels, top_k=10, ignore_identical_ids=True)
    _assert_same_ranking(ranking, *_sorted_ranking(doc_ids[:40], doc_emb[:40], doc_ids, doc_emb, qrels, top_k=10,
                                                   ignore_identical_ids=True))
