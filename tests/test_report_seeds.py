"""Seed-level statistics of the α report, checked against scipy's textbook tests and on the committed results."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from xlr_bench.core.errors import XLRBenchError
from xlr_bench.report.scores import collect
from xlr_bench.report.seeds import alpha_trend, pick_probabilities, pooled_seed_sd, run_scores, seed_test
from xlr_bench.report.study import one_row_per_alpha, select_family

RESULTS = Path(__file__).resolve().parents[1] / "results"


def test_seed_test_is_welch_over_runs():
    a, b = [0.41, 0.45, 0.43], [0.48, 0.47, 0.50]
    test = seed_test(b, a)
    assert test.difference == pytest.approx(np.mean(b) - np.mean(a))
    assert test.p == pytest.approx(stats.ttest_ind(b, a, equal_var=False).pvalue)
    assert test.runs == (3, 3)
    assert seed_test([0.4], a) is None  # one run has no spread: no test over seeds


def test_trend_and_pooled_spread():
    scores = {0.0: [0.50, 0.52], 0.5: [0.45], 1.0: [0.40, 0.41]}
    trend = alpha_trend(scores)
    fit = stats.linregress([0, 0, 0.5, 1, 1], [0.50, 0.52, 0.45, 0.40, 0.41])
    assert (trend.slope, trend.p, trend.runs) == (pytest.approx(fit.slope), pytest.approx(fit.pvalue), 5)
    # pooled over the replicated α only: ((0.01² + 0.01²) + (0.005² + 0.005²)) / 2 degrees of freedom
    assert pooled_seed_sd(scores) == pytest.approx(np.sqrt((2e-4 + 5e-5) / 2))
    assert alpha_trend({0.5: [0.4, 0.5]}) is None


def test_pick_probabilities_follow_the_gap_to_the_noise():
    clear = pick_probabilities({0.0: [0.60, 0.61], 1.0: [0.40, 0.41]})
    assert clear[0.0] == 1.0 and clear[1.0] == 0.0
    close = pick_probabilities({0.0: [0.50, 0.52], 0.5: [0.51], 1.0: [0.49, 0.53]})
    assert sum(close.values()) == pytest.approx(1.0) and all(0.1 < p < 0.7 for p in close.values())
    assert pick_probabilities({0.0: [0.5], 1.0: [0.4]}) is None  # no replicated α: the noise is unknown


def test_committed_results_seed_level():
    """The committed 30-step study: α = 0, 0.5, 1 have seeds 42 and 43, the others one."""
    # the first study's family and precision (the 300-step study's fp32 results may sit beside them)
    models = select_family(one_row_per_alpha(collect(RESULTS, precision="bf16").models), "me5-small-hybrid", RESULTS)
    scores = run_scores(models, "XQuADRSentenceRetrieval", "map_at_20")
    assert {a: len(v) for a, v in scores.items()} == {0.0: 2, 0.25: 1, 0.5: 2, 0.75: 1, 1.0: 2}
    trend = alpha_trend(scores)
    assert trend.runs == 8 and trend.slope < 0  # the pool prefers cross-lingual batches (README findings)
    assert select_family(models, None, RESULTS) == models  # one family: no choice needed
    with pytest.raises(XLRBenchError, match="no hybrid family 'nope'"):
        select_family(models, "nope", RESULTS)
    # the precisions are read apart: bf16 is the first study's nine models; fp32 only the 300-step study's
    # runs, whose base is the same model scored again — never a bf16 file under another label
    bf16 = collect(RESULTS, tasks={"AfriQARetrieval"}, precision="bf16").models
    fp32 = collect(RESULTS, tasks={"AfriQARetrieval"}, precision="fp32").models
    assert len(bf16) == 9 and all(m.precision == {"bf16"} for m in bf16)
    assert fp32 and all(m.precision == {"fp32"} and (m.alpha is None or "300steps" in m.name) for m in fp32)
    base = {next(iter(m.precision)): [m.results["AfriQARetrieval"][s][0].scores["ndcg_at_10"] for s in ("hau", "yor", "zul")]
            for m in bf16 + fp32 if m.alpha is None}
    assert base["fp32"] != base["bf16"] and base["fp32"] == pytest.approx(base["bf16"], abs=0.005)


def test_the_300_step_study_per_language_group_against_the_result_files():
    """The 300-step GPU grid: three seeds for α = 0, 0.5, 1; a language group's run scores are each run's mean over
    that group's subsets, read here with plain json from the result files."""
    import json

    models = select_family(one_row_per_alpha(collect(RESULTS, tasks={"XQuADRRetrieval"}, precision="fp32").models),
                           "300stepsbf16", RESULTS)
    unseen = {"el", "ru", "th", "tr"}
    scores = run_scores(models, "XQuADRRetrieval", "map_at_20", unseen)
    assert {a: len(v) for a, v in scores.items()} == {0.0: 3, 0.25: 1, 0.5: 3, 0.75: 1, 1.0: 3}
    files = sorted(RESULTS.glob("xlr-bench__me5-small-hybrid-300stepsbf16-a100-s*/*/XQuADRRetrieval.json"))
    by_hand = [np.mean([s["map_at_20"] for s in json.loads(f.read_text())["scores"]["test"] if s["hf_subset"] in unseen])
               for f in files]
    assert sorted(scores[1.0]) == pytest.approx(sorted(by_hand)) and len(by_hand) == 3
    # the README's finding: the pool's unseen languages prefer cross-lingual batches, beyond the seed noise
    trend = alpha_trend(scores)
    assert trend.runs == 11 and trend.slope < -0.05 and trend.p < 0.001
    assert run_scores(models, "XQuADRRetrieval", "map_at_20", {"xx"}) == {}  # no such language: no runs
