"""Full-ranking metrics for LAReQA-style retrieval: full mAP, mAP@k and language bias (rank distance).

mteb's retrieval evaluator works from a top-k run, which cannot give LAReQA's mAP with no cut-off
or the rank distance of Huang et al. (2023): both need the rank of *every* relevant candidate, which
may sit anywhere in a 13k-candidate pool. :func:`rank_corpus` therefore scores queries against the
whole corpus in blocks (memory stays bounded by ``block_size`` × corpus size) and returns, per
query, the 1-based rank of each relevant candidate plus the top-k run that mteb's standard metrics
(pytrec_eval) consume.

Ties are broken by corpus order (a candidate earlier in the corpus ranks first), which is what a
stable descending sort does; it only matters for exactly equal scores. No row is sorted in full:
a relevant candidate's rank is one plus the number of candidates that beat it (a higher score, or
an equal score earlier in the corpus), and the top-k is a partial selection (``np.partition``) whose
boundary ties are resolved in corpus order — the same numbers as a stable sort, at a fraction of
its cost on 13k-candidate rows (``tests/test_metrics.py`` holds the sort as the reference).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # torch is imported where scores are computed: registering tasks with mteb needs none of it
    import torch

Similarity = Callable[["torch.Tensor", "torch.Tensor"], "torch.Tensor"]


@dataclass
class Ranking:
    """What a full-corpus scoring pass yields for a set of queries."""

    relevant_ranks: dict[str, np.ndarray]  # query id -> sorted 1-based ranks of its relevant docs
    run: dict[str, dict[str, float]]  # query id -> {doc id: score} for the top-k docs


def cosine(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Cosine similarity matrix (the default when a model does not bring its own)."""
    import torch

    return torch.nn.functional.normalize(a, dim=-1) @ torch.nn.functional.normalize(b, dim=-1).T


def rank_corpus(
    query_ids: Sequence[str],
    query_emb: np.ndarray | torch.Tensor,
    corpus_ids: Sequence[str],
    corpus_emb: np.ndarray | torch.Tensor,
    qrels: Mapping[str, Mapping[str, int]],
    *,
    top_k: int,
    similarity: Similarity = cosine,
    block_size: int = 256,
    ignore_identical_ids: bool = False,
) -> Ranking:
    """Rank the whole corpus for every query, in query blocks.

    Returns the rank of each relevant document (``qrels`` value > 0) and the ``top_k`` run. With
    ``ignore_identical_ids`` (mteb's flag, for corpora that contain the queries themselves) a
    document whose id equals the query id is ranked last and left out of both.
    """
    import torch

    q = torch.as_tensor(np.asarray(query_emb, dtype=np.float32))
    c = torch.as_tensor(np.asarray(corpus_emb, dtype=np.float32))
    position = {doc_id: i for i, doc_id in enumerate(corpus_ids)}
    n_docs = len(corpus_ids)
    k = min(top_k, n_docs)
    relevant = [[position[d] for d, grade in qrels.get(qid, {}).items()
                 if grade > 0 and d in position and not (ignore_identical_ids and d == qid)] for qid in query_ids]
    id_array = np.array(corpus_ids, dtype=object)  # top-k indices to ids for a whole block at once
    ranks: dict[str, np.ndarray] = {}
    run: dict[str, dict[str, float]] = {}
    for start in range(0, len(query_ids), block_size):
        block_ids = query_ids[start : start + block_size]
        scores = torch.as_tensor(similarity(q[start : start + block_size], c)).float().numpy()
        if ignore_identical_ids:
            for row, qid in enumerate(block_ids):
                if qid in position:
                    scores[row, position[qid]] = float("-inf")
        top_idx = top_k_in_corpus_order(scores, k)
        top_scores = np.take_along_axis(scores, top_idx, axis=1)
        for qid, docs, val in zip(block_ids, id_array[top_idx].tolist(), top_scores.tolist()):
            run[qid] = dict(zip(docs, val))
            if ignore_identical_ids and val and val[-1] == float("-inf"):  # the query itself, ranked last
                run[qid] = {d: s for d, s in run[qid].items() if s != float("-inf")}
        block_relevant = relevant[start : start + block_size]
        block_ranks = ranks_in_corpus_order(scores, block_relevant)
        for qid, r, rank in zip(block_ids, block_relevant, block_ranks):
            ranks[qid] = np.sort(rank[: len(r)])
    return Ranking(relevant_ranks=ranks, run=run)


def top_k_in_corpus_order(scores: np.ndarray, k: int) -> np.ndarray:
    """Column indices of each row's ``k`` best scores, best first, equal scores in corpus order.

    A partial selection (``np.partition``) finds the k-th best value of each row; every score
    above it is in, and of the scores equal to it the earliest columns fill the remaining places,
    so the set and the order are those of the first k entries of a stable descending sort.
    """
    n_rows, n_cols = scores.shape
    if k == 0:
        return np.empty((n_rows, 0), dtype=np.int64)
    threshold = np.partition(scores, n_cols - k, axis=1)[:, n_cols - k : n_cols - k + 1]
    candidates = scores >= threshold
    if (np.count_nonzero(candidates, axis=1) == k).all():  # no tie across the boundary: k per row
        idx = np.nonzero(candidates)[1].reshape(n_rows, k)  # nonzero walks each row in column order
    else:
        idx = np.stack([np.sort(np.concatenate([np.flatnonzero(row > t), np.flatnonzero(row == t)])[:k])
                        for row, t in zip(scores, threshold[:, 0])])
    order = np.argsort(-np.take_along_axis(scores, idx, axis=1), axis=1, kind="stable")
    return np.take_along_axis(idx, order, axis=1)


def ranks_in_corpus_order(scores: np.ndarray, relevant: Sequence[Sequence[int]]) -> np.ndarray:
    """1-based rank of each listed column in its row, as a stable descending sort would give it.

    Row ``i`` counts, for each column ``j`` in ``relevant[i]``, the scores above ``scores[i, j]``
    and the equal scores in earlier columns. Returns a ``len(relevant)`` × longest-list array; each
    row's first ``len(relevant[i])`` entries are its ranks (in the list's order), the rest padding.
    """
    width = max((len(r) for r in relevant), default=0)
    columns = np.array([list(r) + [r[0] if r else 0] * (width - len(r)) for r in relevant], dtype=np.int64)
    ranks = np.ones((len(relevant), width), dtype=np.int64)
    for slot in range(width):  # one pass over the block per relevant slot (≤ 11 for XQuAD-R)
        value = np.take_along_axis(scores, columns[:, slot : slot + 1], axis=1)
        above = np.count_nonzero(scores > value, axis=1)
        ties = np.count_nonzero(scores >= value, axis=1) - above - 1  # equal scores other than itself
        for row in np.flatnonzero(ties):  # rare: only equal scores in earlier columns rank ahead
            above[row] += np.count_nonzero(scores[row, : columns[row, slot]] == value[row, 0])
        ranks[:, slot] += above
    return ranks


def average_precision(ranks: np.ndarray, cutoff: int | None = None) -> float:
    """AP from the sorted 1-based ranks of all relevant docs.

    With ``cutoff`` it is XTREME-R's AP@k: hits beyond k count zero and the sum is divided by
    ``min(#relevant, k)``; without it, LAReQA's AP over the full ranking.
    """
    if len(ranks) == 0:
        return 0.0
    hits = np.arange(1, len(ranks) + 1)
    precisions = hits / ranks
    if cutoff is None:
        return float(precisions.mean())
    return float(precisions[ranks <= cutoff].sum() / min(len(ranks), cutoff))


def ndcg(ranks: np.ndarray, cutoff: int = 10) -> float:
    """Binary-relevance nDCG@k from the sorted 1-based ranks of all relevant docs (trec_eval's ndcg_cut)."""
    if len(ranks) == 0:
        return 0.0
    hits = ranks[ranks <= cutoff]
    ideal = np.arange(1, min(len(ranks), cutoff) + 1)
    return float((1 / np.log2(hits + 1)).sum() / (1 / np.log2(ideal + 1)).sum())


def rank_distance(ranks: np.ndarray) -> float:
    """Max rank minus min rank of a query's relevant docs (0 when all sit together)."""
    return float(ranks.max() - ranks.min()) if len(ranks) else 0.0


def full_rank_scores(ranking: Ranking, *, pooled: bool) -> tuple[dict[str, float], dict[str, list[float]]]:
    """Subset-level scores from relevant ranks, and the per-query values behind them.

    ``map`` is LAReQA's full mAP; for pooled (multilingual) subsets ``rank_distance`` is the mean
    rank distance over the subset's queries (one query language per subset, so the report's
    macro-average over languages is the mean over subsets). The per-query lists (in query-id order:
    ``map_at_20``, ``ndcg_at_10`` and, pooled, ``rank_distance``) let a report bootstrap confidence
    intervals and pair models query by query; the full-mAP list is left out to keep result files small.

    Each value is what :func:`average_precision`, :func:`ndcg` and :func:`rank_distance` give for the
    query, to the last bit, computed for all queries with the same number of relevant documents at
    once: a row's sums run over the same elements in the same order (ranks are sorted, so the hits
    within a cut-off are a prefix of the row, summed as a block of that width).
    """
    qids = sorted(ranking.relevant_ranks)
    rows = [ranking.relevant_ranks[q] for q in qids]
    widths = np.array([len(r) for r in rows], dtype=np.int64)
    full_ap, ap_20, ndcg_10, distance = (np.zeros(len(qids)) for _ in range(4))
    for width in np.unique(widths[widths > 0]).tolist():
        index = np.flatnonzero(widths == width)
        ranks = np.stack([rows[i] for i in index]).astype(np.int64, copy=False)
        precisions = np.arange(1, width + 1) / ranks
        full_ap[index] = precisions.mean(axis=1)
        distance[index] = ranks[:, -1] - ranks[:, 0]
        gains = 1 / np.log2(ranks + 1)
        ideal = (1 / np.log2(np.arange(1, min(width, 10) + 1) + 1)).sum()
        for cutoff, target, values, divisor in ((20, ap_20, precisions, min(width, 20)), (10, ndcg_10, gains, ideal)):
            within = np.count_nonzero(ranks <= cutoff, axis=1)
            for count in np.unique(within).tolist():
                group = within == count
                target[index[group]] = values[group, :count].sum(axis=1) / divisor
    per_query: dict[str, list[float]] = {"map_at_20": ap_20.tolist(), "ndcg_at_10": ndcg_10.tolist()}
    if pooled:
        per_query["rank_distance"] = distance.tolist()
    summary = {"map": float(np.mean(full_ap)) if qids else 0.0}
    if pooled:
        summary["rank_distance"] = float(np.mean(distance)) if qids else 0.0
    return summary, per_query


def encode_values(values: list[float]) -> str:
    """Per-query values as one space-separated string (4 decimals).

    mteb writes result files with one line per list element; 130k per-query values of a
    cross-lingual task would take ~3 MB that way and ~0.7 MB as one string.
    """
    return " ".join(f"{v:.4f}".rstrip("0").rstrip(".") or "0" for v in values)


def decode_values(encoded: str | list[float]) -> np.ndarray:
    """Inverse of :func:`encode_values` (lists, as older result files hold them, pass through)."""
    if isinstance(encoded, str):
        return np.array(encoded.split(), dtype=float)
    return np.asarray(encoded, dtype=float)
