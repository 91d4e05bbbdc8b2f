"""Scores read from result trees: the one code path behind the report and the leaderboard site.

``collect`` reads mteb results trees (``<org__model>/<revision>/[experiments/<name>/]``), from the
project, from a checkout of the MTEB results repository, or several merged, and keeps for every
subset score the run (revision, experiment) and the file it came from, so any figure built on it
can be traced back. A trained checkpoint's name carries its α (``...-hybrid-a050``) and, where
recorded, its seed (``...-hybrid-a050-s42``); several revisions under one name are several runs,
unless the training their evaluation recorded says they are not runs of one study (then they are
named and left out, see ``_runs_of_another_configuration``).
Files that are not mteb results are kept as problems, never dropped silently; ``coverage_gaps``
names the runs whose means cover fewer subsets than the runs beside them, so such a mean is never
compared or averaged in unmarked.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

# ``-hybrid[-<tag>]-a<α×100>[-s<seed>]``: the tag names a training recipe other than the first study's
# (``me5-small-hybrid-300steps-a050-s42``), so that checkpoints of two recipes are two families.
HYBRID_RE = re.compile(r"-hybrid(?P<tag>-[0-9a-z]+)?-a(?P<alpha>\d{3})(?:-s(?P<seed>\d+))?$")
METRIC_LABEL = {"map_at_20": "mAP@20", "ndcg_at_10": "nDCG@10", "rank_distance": "rank distance"}
SETTING_LABEL = {"monolingual": "Mo.", "cross-lingual": "Cr.", "multilingual": "Mul."}


@dataclass
class SubsetScores:
    """One subset's scores of one run, and the result file they were read from."""

    scores: dict[str, float]
    per_query: dict[str, list[float]]
    ids_sha: str | None
    revision: str = ""  # the run key (see ``Run.key``)
    source: Path | None = None


@dataclass(frozen=True)
class Run:
    """One scored folder of a model: a revision, or an experiment (e.g. a precision) of a revision."""

    revision: str
    experiment: str | None
    root: Path  # the results tree it was read from
    folder: Path
    meta: dict[str, Any]
    training: dict[str, Any] | None = None  # what its evaluation recorded of the training (run settings)

    @property
    def key(self) -> str:
        """Unique within a model: scores of different experiments of one revision are never pooled."""
        return self.revision if self.experiment is None else f"{self.revision}/{self.experiment}"


@dataclass
class ModelRuns:
    """All runs (revisions, seeds) of one model name."""

    name: str
    alpha: float | None
    seed: int | None = None
    training_tasks: set[str] = field(default_factory=set)
    # task -> subset -> list over runs
    results: dict[str, dict[str, list[SubsetScores]]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(list)))
    revisions: list[str] = field(default_factory=list)  # run keys, in reading order
    runs: dict[str, Run] = field(default_factory=dict)
    precision: set[str] = field(default_factory=set)
    max_tokens: set[int] = field(default_factory=set)

    @property
    def label(self) -> str:
        if self.alpha is None:
            return f"base ({self.name.split('/')[-1]})"
        return f"α={self.alpha:.2f}" + (f" s{self.seed}" if self.seed is not None else "")

    @property
    def family(self) -> str | None:
        """The hybrid family a trained checkpoint belongs to (its name without α and seed); None otherwise."""
        return HYBRID_RE.sub(lambda g: f"-hybrid{g['tag'] or ''}", self.name) if self.alpha is not None else None


@dataclass(frozen=True)
class Problem:
    """A file that could not be used, and why."""

    path: Path
    reason: str
    root: Path

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


@dataclass
class Collected:
    models: list[ModelRuns]
    problems: list[Problem]
    skipped: int = 0  # result files of tasks the caller did not ask for (valid, just not shown)


@lru_cache(maxsize=None)
def _is_mteb_task(name: str) -> bool:
    import mteb

    try:
        mteb.get_task(name)
    except KeyError:
        return False
    return True


def collect(results_dirs: Path | str | Sequence[Path | str], tasks: Collection[str] | None = None,
            precision: str | None = None) -> Collected:
    """Read every model run under ``results_dirs`` (the first tree wins where two hold the same run).

    With ``tasks``, result files of other mteb tasks are skipped unread (a checkout of the MTEB
    results repository holds tens of thousands); files that are not named after any mteb task are
    still read, so a foreign or broken file is reported rather than ignored. A folder left with no
    usable result is not a run; nor is one trained with another configuration than the runs beside it
    (:func:`_runs_of_another_configuration`): such runs are named in the problems and left out.
    With ``precision`` (``fp32``, ``bf16`` ...), runs encoded at another precision are skipped, so that a
    model scored both ways is one run, not two.
    """
    from mteb.results import TaskResult

    from xlr_bench.results.cache import RUN_SETTINGS, describe_partial, partial_files, read_partial

    roots = [Path(results_dirs)] if isinstance(results_dirs, (str, Path)) else [Path(d) for d in results_dirs]
    gathered: list[tuple[str, Run, list[tuple[Path, Any]]]] = []  # (model name, run, its (file, TaskResult)s)
    read: dict[tuple[str, str], Run] = {}
    models: dict[str, ModelRuns] = {}
    problems: list[Problem] = []
    skipped = 0
    for root in roots:
        # mteb puts runs with experiment settings (e.g. precision) under <revision>/experiments/<name>/
        for meta_path in sorted([*root.glob("*/*/model_meta.json"), *root.glob("*/*/experiments/*/model_meta.json")]):
            folder = meta_path.parent
            files = [p for p in sorted(folder.glob("*.json")) if p.name != "model_meta.json"]
            wanted = [p for p in files if tasks is None or p.stem in tasks or not _is_mteb_task(p.stem)]
            skipped += len(files) - len(wanted)
            if not wanted:
                continue
            try:
                meta = json.loads(meta_path.read_text(encoding="utf-8"))
                if not isinstance(meta, dict):
                    raise ValueError("not a JSON object")
            except (json.JSONDecodeError, UnicodeDecodeError, ValueError) as exc:
                problems.append(Problem(meta_path, f"unreadable model_meta.json ({getattr(exc, 'msg', exc)})", root))
                continue
            if precision and ((meta.get("experiment_kwargs") or {}).get("precision") or "fp32") != precision:
                skipped += len(wanted)
                continue
            experiment = folder.name if folder.parent.name == "experiments" else None
            run = Run(folder.parent.parent.name if experiment else folder.name, experiment, root, folder, meta,
                      _recorded_training(folder / RUN_SETTINGS))
            name = meta.get("name") or (folder.parents[2] if experiment else folder.parent).name.replace("__", "/")
            results = []
            for path in wanted:
                try:
                    results.append((path, TaskResult.from_disk(path)))
                except Exception as exc:  # foreign or broken file: report it, use the rest
                    problems.append(Problem(path, f"not an mteb result ({str(exc).splitlines()[0]})", root))
            if tasks is not None:
                results = [(p, r) for p, r in results if r.task_name in tasks]
            if not results:
                continue
            if (name, run.key) in read:
                problems.append(Problem(folder, f"{name} {run.key} is also in {read[(name, run.key)].folder}; "
                                                "the first one read is used", root))
                continue
            read[(name, run.key)] = run
            gathered.append((name, run, results))
        for path in partial_files(root):  # an interrupted evaluation: its mean would cover some subsets only
            if tasks is None or read_partial(path)[0] in tasks or not _is_mteb_task(read_partial(path)[0]):
                problems.append(Problem(path, describe_partial(path), root))
    left_out = _runs_of_another_configuration(gathered)
    problems += [Problem(run.folder, f"{name} {run.key[:8]}: {left_out[(name, run.key)]}; left out", run.root)
                 for name, run, _ in gathered if (name, run.key) in left_out]
    for name, run, results in gathered:
        if (name, run.key) not in left_out:
            _add_run(models, name, run, results)
    ordered = sorted(models.values(), key=lambda m: (m.alpha is not None, m.alpha or 0.0, m.seed or 0, m.name))
    return Collected(ordered, problems, skipped)


def _add_run(models: dict[str, ModelRuns], name: str, run: Run, results: list[tuple[Path, Any]]) -> None:
    """Add one run (its metadata and scores) to its model's :class:`ModelRuns`."""
    match = HYBRID_RE.search(name)
    alpha = int(match["alpha"]) / 100 if match else None
    seed = int(match["seed"]) if match and match["seed"] else None
    runs = models.setdefault(name, ModelRuns(name, alpha, seed))
    runs.runs[run.key] = run
    runs.revisions.append(run.key)
    runs.training_tasks |= set(run.meta.get("training_datasets") or [])
    settings = run.meta.get("experiment_kwargs") or {}
    backend = settings.get("backend") or "torch"  # named where not torch, e.g. "fp32 (openvino)"
    runs.precision.add((settings.get("precision") or "fp32") + (f" ({backend})" if backend != "torch" else ""))
    if run.meta.get("max_tokens"):
        runs.max_tokens.add(int(run.meta["max_tokens"]))
    for path, result in results:
        for split_scores in result.scores.values():
            for entry in split_scores:
                runs.results[result.task_name][entry["hf_subset"]].append(SubsetScores(
                    {k: v for k, v in entry.items() if isinstance(v, (int, float))},
                    entry.get("per_query") or {}, entry.get("per_query_ids_sha256"), run.key, path,
                ))


def _recorded_training(settings: Path) -> dict[str, Any] | None:
    """The training facts a checkpoint's evaluation recorded in its run settings (None: not recorded,
    e.g. results from before they were, or of a model xlr-bench did not train)."""
    try:
        lines = settings.read_text(encoding="utf-8").splitlines() if settings.is_file() else []
    except (OSError, UnicodeDecodeError):
        return None  # `results validate` names the file
    for line in lines:
        try:
            facts = (json.loads(line).get("encode_kwargs") or {}).get("training")
        except (ValueError, AttributeError):
            continue
        if isinstance(facts, dict) and facts:
            return facts
    return None


def _runs_of_another_configuration(gathered: list[tuple[str, Run, Any]]) -> dict[tuple[str, str], str]:
    """(model name, run key) -> why it is left out, for the trained runs that are not runs of one study.

    Two sweeps writing into one results folder leave checkpoints of one α from different
    configurations (or a stale retrain beside the current one); read by name they would be averaged as
    seeds of one α. So, per hybrid family, the configuration most checkpoints share (α and seed
    aside; on a tie the first in sorted order) is the study's and runs of any other are left out; and
    two checkpoints of one name and seed in that configuration cannot both be current, so both are
    left out. Runs whose evaluation recorded no training facts are kept as they are.
    """
    def config_key(facts: dict[str, Any]) -> str:
        return json.dumps({k: v for k, v in facts.items() if k not in ("alpha", "seed")}, sort_keys=True, default=str)

    def shown(value: Any) -> str:
        text = repr(value)
        return text if len(text) <= 40 else text[:37] + "..."

    families: dict[str, list[tuple[str, Run]]] = defaultdict(list)
    for name, run, _ in gathered:
        if run.training and HYBRID_RE.search(name):
            families[HYBRID_RE.sub(lambda g: f"-hybrid{g['tag'] or ''}", name)].append((name, run))
    left_out: dict[tuple[str, str], str] = {}
    for family, runs in families.items():
        checkpoints = {(name, run.revision): config_key(run.training) for name, run in runs}
        counts: dict[str, int] = defaultdict(int)
        for key in checkpoints.values():
            counts[key] += 1
        study_key = max(sorted(counts), key=counts.__getitem__)
        study = json.loads(study_key)
        revisions: dict[tuple[str, Any], set[str]] = defaultdict(set)  # (name, seed) -> revisions of the study's
        for name, run in runs:
            facts = json.loads(config_key(run.training))
            if facts != study:
                differs = [f"{k} {shown(facts.get(k))} (others: {shown(study.get(k))})"
                           for k in sorted(set(facts) | set(study)) if facts.get(k) != study.get(k)]
                left_out[(name, run.key)] = f"trained with another configuration: {', '.join(differs[:3])}"
            else:
                revisions[(name, run.training.get("seed"))].add(run.revision)
        for name, run in runs:
            twins = sorted(revisions.get((name, run.training.get("seed")), ()))
            if (name, run.key) not in left_out and len(twins) > 1:
                left_out[(name, run.key)] = (f"one of {len(twins)} checkpoints of seed {run.training.get('seed')} with "
                                             f"one configuration ({', '.join(r[:8] for r in twins)}); which is "
                                             "current cannot be told")
    return left_out


def lareqa_families() -> dict[str, dict[str, str]]:
    """LAReQA dataset (``-sentence`` for sentence-only candidates) -> {setting: task name}."""
    from xlr_bench.definitions.tasks import load_definitions

    families: dict[str, dict[str, str]] = defaultdict(dict)
    for name, definition in load_definitions().items():
        if definition.loader == "lareqa" and definition.setting:
            variant = "-sentence" if definition.source.get("candidates") == "sentence" else ""
            families[definition.source["dataset"] + variant][definition.setting] = name
    return dict(families)


def ordered_lareqa_families() -> list[tuple[str, dict[str, str]]]:
    """The families in reading order: XQuAD-R (the study's evaluation) first, then by name."""
    return sorted(lareqa_families().items(), key=lambda kv: (not kv[0].startswith("xquad-r"), kv[0]))


def low_resource_tasks() -> dict[str, str]:
    """The project's non-LAReQA tasks (AfriQA, ...) -> their main score."""
    from xlr_bench.definitions.tasks import load_definitions

    return {name: d.metadata["main_score"] for name, d in sorted(load_definitions().items()) if d.loader != "lareqa"}


def run_subsets(runs: ModelRuns, task: str) -> dict[str, set[str]]:
    """Run key -> the subsets of ``task`` it scored."""
    scored: dict[str, set[str]] = defaultdict(set)
    for subset, entries in (runs.results.get(task) or {}).items():
        for entry in entries:
            scored[entry.revision].add(subset)
    return dict(scored)


def revision_means(runs: ModelRuns, task: str, metric: str, subsets: Collection[str] | None = None) -> dict[str, float]:
    """Mean over subsets (``subsets`` only, if given: e.g. one language group) of a metric, per run (seed) that
    has the task."""
    per_revision = defaultdict(list)
    for subset, entries in (runs.results.get(task) or {}).items():
        if subsets is not None and subset not in subsets:
            continue
        for entry in entries:
            if metric in entry.scores:
                per_revision[entry.revision].append(entry.scores[metric])
    return {revision: float(np.mean(values)) for revision, values in per_revision.items()}


def subset_mean(runs: ModelRuns, task: str, metric: str) -> tuple[float, int] | None:
    """Mean over subsets (then over runs) of a metric, and the number of runs."""
    means = list(revision_means(runs, task, metric).values())
    return (float(np.mean(means)), len(means)) if means else None


def revisions_with(runs: ModelRuns, tasks: Iterable[str]) -> set[str]:
    """The runs (seeds) of a model that have results for any of ``tasks``."""
    return {e.revision for task in tasks for entries in (runs.results.get(task) or {}).values() for e in entries}


@dataclass(frozen=True)
class CoverageGap:
    """A run whose mean of ``task`` covers ``scored`` of the ``total`` subsets the runs beside it cover."""

    model: ModelRuns
    revision: str
    task: str
    scored: int
    total: int


def coverage_gaps(models: list[ModelRuns], tasks: Iterable[str]) -> list[CoverageGap]:
    """Means over different subsets are not comparable: every run scored on fewer subsets of a task
    than the union over ``models`` (an interrupted evaluation, or one restricted with ``--subsets``)."""
    gaps = []
    for task in tasks:
        union = {s for m in models for s in m.results.get(task, {})}
        for m in models:
            gaps += [CoverageGap(m, revision, task, len(subsets), len(union))
                     for revision, subsets in run_subsets(m, task).items() if subsets != union]
    return gaps


def seen_languages(models: list[ModelRuns]) -> set[str] | None:
    """Languages of every trained model's training tasks; None when none of ``models`` was trained.

    Taken over all models, not per section, so that a section holding only the base model still
    groups its languages by what the tuned models saw.
    """
    import mteb

    if all(m.alpha is None for m in models):
        return None
    seen: set[str] = set()
    for model in (m for m in models if m.alpha is not None):  # the base's own (inherited) training data is not "seen"
        for task_name in model.training_tasks:
            try:
                task = mteb.get_task(task_name)
            except KeyError:
                continue
            seen |= {s.split("-")[0] for s in task.hf_subsets}
    return seen


def language_groups(subsets: list[str], seen: set[str] | None) -> dict[str, list[str]]:
    """Query languages of a task split into seen / unseen in training (one group when nothing was trained)."""
    if seen is None:
        return {"query languages": subsets}
    langs = [s.split("-")[0] for s in subsets]
    return {"seen in training": [s for s, l in zip(subsets, langs) if l in seen],
            "unseen in training": [s for s, l in zip(subsets, langs) if l not in seen]}
