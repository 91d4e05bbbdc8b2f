"""Training runs as the unit of an α effect.

The per-query bootstraps of :mod:`xlr_bench.report.study` say how precisely one checkpoint's score is
measured on these queries; they say nothing about the score another training seed would have given.
An α effect is a claim about the training recipe, so here every run (seed) is one observation:

- :func:`run_scores`: per α, the mean over subsets of each run;
- :func:`seed_test`: the difference of two α's means over their runs, Welch's t-test across runs;
- :func:`alpha_trend`: the least-squares slope of run scores on α over every run of the grid, with its
  t-test (runs as observations: seeds of one α and the α grid both inform it);
- :func:`pick_probabilities`: how often each α would win the declared criterion if every α's mean
  were redrawn with the seed noise the replicated α show (pooled within-α variance, normal draws).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import numpy as np

from xlr_bench.report.scores import ModelRuns, revision_means

N_DRAWS = 10_000


def run_scores(models: list[ModelRuns], task: str, metric: str,
               subsets: Collection[str] | None = None) -> dict[float, list[float]]:
    """α -> the mean over subsets (``subsets`` only, if given) of ``metric`` for each run of that α (one value
    per seed)."""
    out: dict[float, list[float]] = {}
    for m in models:
        if m.alpha is not None and (values := revision_means(m, task, metric, subsets)):
            out.setdefault(m.alpha, []).extend(values.values())
    return dict(sorted(out.items()))


@dataclass(frozen=True)
class SeedTest:
    """Mean difference a − b over runs, Welch's two-sided p, and the runs on each side."""

    difference: float
    p: float
    runs: tuple[int, int]


def seed_test(a: list[float], b: list[float]) -> SeedTest | None:
    """Welch's t-test between the runs of two α; None unless both have at least two runs (no variance otherwise)."""
    from scipy import stats

    if len(a) < 2 or len(b) < 2:
        return None
    difference = float(np.mean(a) - np.mean(b))
    if np.var(a) == 0 and np.var(b) == 0:  # identical runs: t is undefined, the difference is all there is
        return SeedTest(difference, 0.0 if difference else 1.0, (len(a), len(b)))
    return SeedTest(difference, float(stats.ttest_ind(a, b, equal_var=False).pvalue), (len(a), len(b)))


@dataclass(frozen=True)
class Trend:
    """Slope of run scores per unit α (α = 0 → 1), its two-sided p, and the number of runs."""

    slope: float
    p: float
    runs: int


def alpha_trend(scores: dict[float, list[float]]) -> Trend | None:
    """Ordinary least squares of each run's score on its α; None with fewer than three runs or one α."""
    from scipy import stats

    xs = [a for a, values in scores.items() for _ in values]
    ys = [v for values in scores.values() for v in values]
    if len(ys) < 3 or len(set(xs)) < 2:
        return None
    fit = stats.linregress(xs, ys)
    return Trend(float(fit.slope), float(fit.pvalue), len(ys))


def pooled_seed_sd(scores: dict[float, list[float]]) -> float | None:
    """The standard deviation between seeds of one α, pooled over the α that have several runs."""
    squares = sum(float(np.sum((np.array(v) - np.mean(v)) ** 2)) for v in scores.values() if len(v) > 1)
    dof = sum(len(v) - 1 for v in scores.values() if len(v) > 1)
    return float(np.sqrt(squares / dof)) if dof else None


def pick_probabilities(criterion: dict[float, list[float]], seed: int = 0) -> dict[float, float] | None:
    """P(α has the highest criterion) when each α's mean is redrawn as mean + N(0, sd²/runs).

    ``criterion``: α -> the criterion of each of its runs. The noise is the pooled seed-to-seed
    spread, so an α with one run is as uncertain as one run of a replicated α. None without any
    replicated α (no estimate of the noise).
    """
    sd = pooled_seed_sd(criterion)
    if sd is None:
        return None
    alphas = list(criterion)
    means = np.array([np.mean(criterion[a]) for a in alphas])
    scales = np.array([sd / np.sqrt(len(criterion[a])) for a in alphas])
    draws = np.random.default_rng(seed).normal(means, scales, size=(N_DRAWS, len(alphas)))
    wins = np.bincount(draws.argmax(axis=1), minlength=len(alphas)) / N_DRAWS
    return {a: float(w) for a, w in zip(alphas, wins)}
