"""mteb's standard retrieval scores of a top-k run, the same numbers at a fraction of the cost.

mteb's ``calculate_retrieval_scores`` gives every subset nDCG / MAP / recall / precision / hit rate
(pytrec_eval), MRR and the abstention nAUCs (arXiv 2402.12997). On XQuAD-R's 132 subsets it took
~53 % of an evaluation with a fast encoder (``benchmarks/README.md``), most of it per-query Python:
the run is re-sorted once per query for MRR, each query's confidence scores are computed twice
(once for the metric nAUCs, once for the MRR ones) from sorted Python lists, and each of the 90
nAUCs per subset goes through scikit-learn's argument validation.

:func:`standard_scores` keeps pytrec_eval and computes the rest in fewer Python steps and on arrays,
with the same arithmetic in the same order (what makes the numbers bit-identical, not merely close):

* the means of pytrec_eval's per-query values, summed in mteb's order and rounded as mteb rounds;
* MRR@k — the rank of a relevant document in mteb's order (score descending, ties by document id
  descending, pytrec_eval's order) is the number of run entries that beat it; ties only cost a look
  at the ids of the tied entries;
* confidence scores (max, std, top-1 minus top-2) of all queries at once, from one matrix of the
  run's scores in the run's order (``np.std`` along a row is the same pairwise sum as on the list);
* each nAUC as mteb computes it (stable argsort, tie groups averaged, the mean metric retained at
  each abstention rate, trapezoid areas), with the argsort and tie groups of each confidence score
  computed once per subset instead of once per metric.

``tests/test_standard_scores.py`` compares every score with mteb's function, exactly, on real
XQuAD-R subsets (with ties added) and on edge cases.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pytrec_eval
from mteb.types import RetrievalEvaluationResult
from scipy.integrate import trapezoid  # what sklearn.metrics.auc integrates with

from xlr_bench.core.mteb_adapter import abstention_rates, confidence_scores

CONFIDENCE = ("max", "std", "diff1")  # mteb's confidence functions, in its order
# pytrec_eval's measures and mteb's names for them, in the order mteb reports them
PYTREC = {"ndcg_cut": "NDCG", "map_cut": "MAP", "recall": "Recall", "P": "P", "success": "HitRate"}


def standard_scores(
    run: Mapping[str, Mapping[str, float]], qrels: Mapping[str, Mapping[str, int]], k_values: Sequence[int]
) -> RetrievalEvaluationResult:
    """``calculate_retrieval_scores(run, qrels, k_values)`` of mteb, computed on arrays."""
    cuts = ",".join(str(k) for k in k_values)
    evaluator = pytrec_eval.RelevanceEvaluator(qrels, {f"{measure}.{cuts}" for measure in PYTREC})
    scores = evaluator.evaluate(run)
    per_query = _per_query(scores, k_values)
    ndcg, _map, recall, precision, hit_rate = ({name: round(sum(values) / len(scores), 5)
                                                for name, values in per_query[metric].items()} for metric in PYTREC)
    all_ndcgs, all_aps, all_recalls, all_precisions = (per_query[metric] for metric in list(PYTREC)[:4])
    mrr_scores = reciprocal_ranks(run, qrels, k_values)
    order = _ConfidenceOrder(confidence(run))
    naucs = {f"nAUC_{name}_{fct}": value
             for name, values in {**all_ndcgs, **all_aps, **all_recalls, **all_precisions}.items()
             for fct, value in order.naucs(np.array(values)).items()}
    naucs_mrr = {f"nAUC_{name}_{fct}": value for name, values in mrr_scores.items()
                 for fct, value in order.naucs(np.array(values)).items()}
    return RetrievalEvaluationResult(
        all_scores=scores, ndcg=ndcg, map=_map, recall=recall, precision=precision, naucs=naucs,
        mrr={k: sum(v) / len(v) for k, v in mrr_scores.items()}, naucs_mrr=naucs_mrr, hit_rate=hit_rate,
    )


def _per_query(scores: Mapping[str, Mapping[str, float]], k_values: Sequence[int]) -> dict[str, dict[str, list[float]]]:
    """pytrec_eval's per-query values as mteb's ``parse_metrics_from_scores`` lists them (query order of
    ``scores``), one list per metric and cut-off, e.g. ``{"ndcg_cut": {"NDCG@10": [...]}}``."""
    rows = list(scores.values())
    return {metric: {f"{name}@{k}": [row[f"{metric}_{k}"] for row in rows] for k in k_values}
            for metric, name in PYTREC.items()}


def reciprocal_ranks(
    run: Mapping[str, Mapping[str, float]], qrels: Mapping[str, Mapping[str, int]], k_values: Sequence[int]
) -> dict[str, list[float]]:
    """``{"MRR@k": [1 / rank of the first relevant document within k, or 0, per query in run order]}``.

    mteb ranks a query's run by (score, document id), both descending (pytrec_eval's order).
    """
    firsts = []
    for qid, docs in run.items():
        relevant = [d for d, grade in qrels[qid].items() if grade > 0 and d in docs]
        if not relevant:
            firsts.append(None)
            continue
        values = np.fromiter(docs.values(), dtype=np.float64, count=len(docs))
        best = None
        for doc in relevant:
            score = docs[doc]
            rank = int(np.count_nonzero(values > score))
            if np.count_nonzero(values == score) > 1:  # equal scores: the larger id ranks first
                rank += sum(1 for other, s in docs.items() if s == score and other > doc)
            best = rank if best is None else min(best, rank)
        firsts.append(best)
    return {f"MRR@{k}": [1.0 / (rank + 1) if rank is not None and rank < k else 0.0 for rank in firsts]
            for k in k_values}


def confidence(run: Mapping[str, Mapping[str, float]]) -> dict[str, np.ndarray]:
    """mteb's confidence scores of every query (in run order), one array per confidence function."""
    lengths = {len(docs) for docs in run.values()}
    if len(lengths) != 1 or lengths == {0} or lengths == {1}:  # ragged or degenerate runs: mteb's own, per query
        per_query = [confidence_scores(list(docs.values())) for docs in run.values()]
        return {fct: np.array([c[fct] for c in per_query]) for fct in CONFIDENCE}
    matrix = np.array([list(docs.values()) for docs in run.values()], dtype=np.float64)
    top_two = -np.partition(-matrix, 1, axis=1)[:, :2]
    return {"max": top_two[:, 0], "std": np.std(matrix, axis=1), "diff1": top_two[:, 0] - top_two[:, 1]}


class _ConfidenceOrder:
    """Each confidence score's stable sort order and tie groups, shared by all metrics of a subset."""

    def __init__(self, conf: dict[str, np.ndarray]) -> None:
        self.orders = {fct: _order(values) for fct, values in conf.items()}
        self.rates = abstention_rates()

    def naucs(self, metric: np.ndarray) -> dict[str, float]:
        """mteb's ``nauc(conf, metric)`` for each confidence function."""
        rates = self.rates
        oracle = _curve(_order(metric), metric, rates)
        oracle_auc = _auc(rates, oracle)
        flat_auc = oracle[0] * (rates[-1] - rates[0])
        out = {}
        for fct, order in self.orders.items():
            raw_auc = _auc(rates, _curve(order, metric, rates))
            out[fct] = np.nan if oracle_auc == flat_auc else (raw_auc - flat_auc) / (oracle_auc - flat_auc)
        return out


def _order(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stable ascending order of ``values`` and the start and size of each group of equal values."""
    argsort = np.argsort(values, stable=True)
    ordered = values[argsort]
    start = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]]) if len(values) else np.array([], dtype=int)
    return argsort, start, np.diff(np.r_[start, len(values)])


def _curve(order: tuple[np.ndarray, np.ndarray, np.ndarray], metric: np.ndarray, rates: np.ndarray) -> np.ndarray:
    """mteb's abstention curve: the mean metric kept at each rate, tied confidences averaged."""
    argsort, start, size = order
    if len(argsort) == 0:
        return np.full(len(rates), np.nan)
    kept = np.repeat(np.add.reduceat(metric[argsort], start) / size, size)
    n = len(argsort)
    return np.array([kept[min(round(rate * n), n - 1):].mean() for rate in rates])


def _auc(x: np.ndarray, y: np.ndarray) -> float:
    """``sklearn.metrics.auc`` for increasing ``x`` (the abstention rates), without its argument checks."""
    return float(trapezoid(y, x))
