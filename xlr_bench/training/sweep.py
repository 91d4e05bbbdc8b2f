"""The α sweep: train one checkpoint per (α, seed), evaluate it and the untrained base, report.

Resumable at every level: a finished (α, seed) checkpoint (it has its training record) is not
retrained, an interrupted one resumes from its last trainer checkpoint, and mteb's result cache
skips every task already in ``results/``. A sweep folder remembers its configuration and refuses to
be continued with another one (mixing would make the report meaningless). Per-phase wall times (and
the seconds inside forward/backward passes) go to ``timings.jsonl``; each invocation starts it afresh, so a continued sweep's file
holds the phases that invocation ran, not an unlabelled mix of every run so far.

The jobs — the base model's scoring and one training + scoring per (α, seed), :func:`run_job` — run
one after the other in this process, or through an executor (:mod:`xlr_bench.training.executors`:
parallel local processes or Slurm); either way they write the same files, and the report is built
here once every job has finished.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from xlr_bench.core.atomic import write_json
from xlr_bench.core.errors import XLRBenchError
from xlr_bench.core.paths import check_output_folder
from xlr_bench.training.compute_clock import ComputeTime, compute_time
from xlr_bench.training.config import TrainConfig
from xlr_bench.training.executors import ExecutorOptions, JobSpec

SWEEP_FILE = "sweep.json"
TIMINGS_FILE = "timings.jsonl"


@dataclass
class SweepConfig:
    """What a sweep runs; ``train`` is the template whose α and seed each run overrides."""

    base: str = "me5-small"
    ratios: list[float] = field(default_factory=lambda: [0.0, 0.25, 0.5, 0.75, 1.0])
    seeds: list[int] = field(default_factory=lambda: [42])
    replicate_ratios: list[float] | None = None  # seeds after the first only for these ratios (None: all)
    tasks: list[str] = field(default_factory=lambda: ["XQuADRRetrieval", "XQuADRMonolingualRetrieval",
                                                      "XQuADRCrossLingualRetrieval"])
    subsets: list[str] | None = None
    eval_batch_size: int = 32
    precision: str = "fp32"
    backend: str = "torch"  # encoding backend of the evaluations (models/encoder.py)
    train: TrainConfig = field(default_factory=TrainConfig)


def check_ratios(ratios: list[float]) -> None:
    """Ratios must lie in [0, 1], be distinct and name distinct runs (α is named to two decimals:
    0 and 0.004 would share ``a000``, so one would never be trained and the report would miss it)."""
    from xlr_bench.models.encoder import alpha_tag

    bad = [r for r in ratios if not 0.0 <= r <= 1.0]
    if bad:
        raise XLRBenchError(f"--ratios must lie in [0, 1]; got {', '.join(map(str, bad))}.")
    duplicates = sorted({r for r in ratios if ratios.count(r) > 1})
    if duplicates:
        raise XLRBenchError(f"--ratios lists {', '.join(map(str, duplicates))} more than once.")
    by_tag: dict[str, list[float]] = {}
    for r in ratios:
        by_tag.setdefault(alpha_tag(r), []).append(r)
    clashes = [f"{' and '.join(map(str, rs))} (both {tag})" for tag, rs in by_tag.items() if len(rs) > 1]
    if clashes:
        raise XLRBenchError(f"--ratios {'; '.join(clashes)} would share one run name: runs are named by α to two "
                            "decimals. Use ratios that differ in the first two decimals.")


def check_seeds(seeds: list[int]) -> None:
    """Seeds must be distinct whole numbers of 0 or more (each names a run folder)."""
    if not seeds:
        raise XLRBenchError("--seeds is empty.")
    bad = [s for s in seeds if isinstance(s, bool) or not isinstance(s, int) or s < 0]
    if bad:
        raise XLRBenchError(f"--seeds must be whole numbers of 0 or more; got {', '.join(map(str, bad))}.")
    duplicates = sorted({s for s in seeds if seeds.count(s) > 1})
    if duplicates:
        raise XLRBenchError(f"--seeds lists {', '.join(map(str, duplicates))} more than once.")


def planned_runs(config: SweepConfig) -> list[tuple[float, int]]:
    """Every (α, seed) of the sweep, first seed of every ratio first."""
    runs = [(r, config.seeds[0]) for r in config.ratios]
    replicated = config.ratios if config.replicate_ratios is None else config.replicate_ratios
    runs += [(r, s) for s in config.seeds[1:] for r in config.ratios if r in replicated]
    return runs


def _remember(config: SweepConfig, sweep_dir: Path) -> None:
    """Store the configuration, or refuse if the folder holds another one (naming what differs)."""
    path = sweep_dir / SWEEP_FILE
    current = json.loads(json.dumps(asdict(config)))
    if path.is_file():
        previous = json.loads(path.read_text(encoding="utf-8"))
        previous.setdefault("backend", "torch")  # sweeps from before the option encoded with torch
        previous.get("train", {}).setdefault("tag", "")  # ... and named their checkpoints without a tag
        differing = _differences(previous, current)
        if differing:
            raise XLRBenchError(f"{sweep_dir} holds a sweep with another configuration ({'; '.join(differing)}). "
                                "Use a new sweep folder, or the same settings to continue it.")
    else:
        write_json(path, current)


def _differences(old: dict, new: dict, prefix: str = "") -> list[str]:
    out = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            out += _differences(a, b, f"{prefix}{key}.")
        elif a != b:
            out.append(f"{prefix}{key}: {a!r} there, {b!r} now")
    return out


def _log_timing(sweep_dir: Path, phase: str, seconds: float, spent: ComputeTime | None = None, **extra: object) -> None:
    """One phase's line: wall seconds and, for phases that run the model, the seconds inside forward and
    backward passes (what is left is the overhead the fast path cuts)."""
    if spent is not None:
        extra = {"forward": round(spent.forward, 3), "backward": round(spent.backward, 3), **extra}
    with (sweep_dir / TIMINGS_FILE).open("a", encoding="utf-8") as handle:
        handle.write(json.dumps({"phase": phase, "seconds": round(seconds, 2), **extra}) + "\n")


def _about(config: SweepConfig, sweep_dir: Path, runs: list[tuple[float, int]]) -> list[str]:
    """What the result files cannot tell the report: how much each checkpoint was trained, and on what."""
    from xlr_bench.models.encoder import TRAINING_RECORD

    train = config.train
    record = next((p for a, s in runs if (p := sweep_dir / run_name(a, s) / TRAINING_RECORD).is_file()), None)
    pairs = json.loads(record.read_text(encoding="utf-8"))["pairs"]["train"] if record else None
    seen = train.steps * train.batch_size if train.steps else None
    base = Path(config.base).name if Path(config.base).is_dir() else config.base  # no local path in a report
    replicated = (f" (seeds after the first for α ∈ {{{', '.join(f'{a:g}' for a in config.replicate_ratios)}}})"
                  if config.replicate_ratios is not None and len(config.seeds) > 1 else "")
    recipe = f"; recipe tag {train.tag}" if train.tag else ""
    alphas = ", ".join(f"{a:g}" for a in config.ratios)
    lines = [f"Made by `xlr-bench sweep`: base model {base}{recipe}; α ∈ {{{alphas}}}; "
             f"seed(s) {', '.join(map(str, config.seeds))}{replicated}."]
    if seen is not None:
        share = f" — {100 * seen / pairs:.1f} % of one epoch of the {pairs:,} training pairs" if pairs else ""
        lines.append(f"Each checkpoint trained {train.steps} steps × batch {train.batch_size} = {seen:,} pairs{share} "
                     f"({', '.join(train.train_data)}; max length {train.max_length}).")
    subsets = f", subsets {', '.join(config.subsets)} only" if config.subsets else ""
    lines.append(f"Scored on {', '.join(config.tasks)}{subsets}.")
    if seen is not None and pairs and seen / pairs < 0.05:
        lines.append("**A small-scale run**: with this little training, differences between α can be training noise "
                     "rather than an effect of α. It shows the pipeline end to end; the study in the README is the "
                     "measurement.")
    return lines


def sweep_about(sweep_dir: Path) -> list[str]:
    """The report's "About this run" lines for the sweep recorded in ``sweep_dir`` (its ``sweep.json``), so that
    a report rebuilt from result files later (``xlr-bench report --sweep-dir``) says how its models were made."""
    path = Path(sweep_dir) / SWEEP_FILE
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        config = SweepConfig(**{**raw, "train": TrainConfig(**raw["train"])})
    except FileNotFoundError as exc:
        raise XLRBenchError(f"--sweep-dir {sweep_dir}: no {SWEEP_FILE} there (a sweep writes it when it starts).") from exc
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise XLRBenchError(f"{path} is not a sweep configuration this version reads ({exc}).") from exc
    return _about(config, Path(sweep_dir), planned_runs(config))


def run_name(alpha: float | None, seed: int | None) -> str:
    """A job's name: its checkpoint folder in the sweep folder (``a050-s42``), or ``base``."""
    from xlr_bench.models.encoder import alpha_tag

    return "base" if alpha is None else f"{alpha_tag(alpha)}-s{seed}"


def _score(config: SweepConfig, source: str, label: str, sweep_dir: Path, results_dir: Path) -> None:
    from xlr_bench.evaluation import evaluate
    from xlr_bench.models.encoder import XLREncoder

    started = time.perf_counter()
    with compute_time() as spent:
        encoder = XLREncoder(source, precision=config.precision, backend=config.backend)
        evaluate(encoder, config.tasks, results_dir, subsets=config.subsets, batch_size=config.eval_batch_size)
    _log_timing(sweep_dir, "evaluate", time.perf_counter() - started, spent, run=label)


def _train(config: SweepConfig, alpha: float, seed: int, sweep_dir: Path, label: str,
           keep_checkpoints: bool = True) -> Path:
    """Train the (α, seed) checkpoint unless its training record says it is done.

    ``keep_checkpoints=False`` deletes the finished run's resumable trainer checkpoints (model + optimizer
    state, ~1.4 GB each for me5-small): only an unfinished run resumes from them, and the final model stays.
    """
    import shutil

    from xlr_bench.models.encoder import TRAINING_RECORD
    from xlr_bench.training.trainer import train

    checkpoint = sweep_dir / run_name(alpha, seed)
    if not (checkpoint / TRAINING_RECORD).is_file():
        started = time.perf_counter()
        with compute_time() as spent:
            train(replace(config.train, alpha=alpha, seed=seed, eval_tasks=config.tasks), checkpoint,
                  shared_base_loss=sweep_dir / "base_validation_loss.json")
        record = json.loads((checkpoint / TRAINING_RECORD).read_text(encoding="utf-8"))  # where it resumed, how far
        _log_timing(sweep_dir, "train", time.perf_counter() - started, spent, run=label,
                    steps=record["steps"], from_step=record["resumed_from_step"] or 0)
    if not keep_checkpoints and (checkpoint / TRAINING_RECORD).is_file():
        shutil.rmtree(checkpoint / "checkpoints", ignore_errors=True)
    return checkpoint


def run_job(config: SweepConfig, alpha: float | None, seed: int | None, sweep_dir: Path, results_dir: Path,
            keep_checkpoints: bool = True, threads: int | None = None) -> str:
    """One job of the sweep, as an executor runs it: train and score (α, seed), or score the base
    model (``alpha`` None). ``threads``: torch threads, so that parallel jobs share the cores."""
    if threads:
        import torch

        torch.set_num_threads(threads)
    if alpha is None:
        _score(config, config.base, "base", sweep_dir, results_dir)
    else:
        label = f"α={alpha:.2f} seed={seed}"
        _score(config, str(_train(config, alpha, seed, sweep_dir, label, keep_checkpoints)), label, sweep_dir, results_dir)
    return run_name(alpha, seed)


def run_sweep(config: SweepConfig, sweep_dir: Path, results_dir: Path, report_dir: Path | None = None,
              executor: ExecutorOptions | None = None, keep_checkpoints: bool = True) -> Path | None:
    """Run (or continue) the sweep; returns the report path when ``report_dir`` is given.

    ``executor``: where the jobs run (default: one after the other in this process). ``keep_checkpoints``:
    False deletes each finished run's trainer checkpoints (see :func:`_train`). Neither is part of the
    sweep's configuration, as neither changes a result: a sweep started serially may be continued on
    Slurm, and back.
    """
    from xlr_bench.evaluation import select_tasks
    from xlr_bench.training.trainer import check_config
    from xlr_bench.training.pairs import check_zero_shot

    check_ratios(config.ratios)
    check_seeds(config.seeds)
    if config.replicate_ratios is not None:
        check_ratios(config.replicate_ratios)
        unknown = [r for r in config.replicate_ratios if r not in config.ratios]
        if unknown:
            raise XLRBenchError(f"--replicate-ratios {', '.join(map(str, unknown))} not in --ratios.")
    if config.eval_batch_size < 1:
        raise XLRBenchError(f"--eval-batch-size must be at least 1, got {config.eval_batch_size}.")
    check_config(replace(config.train, alpha=config.ratios[0], seed=config.seeds[0]))  # tag, lengths, ...
    executor = executor or ExecutorOptions()
    executor.check()
    check_output_folder(Path(sweep_dir), "--sweep-dir")
    check_output_folder(Path(results_dir), "--results")
    if report_dir is not None:
        check_output_folder(Path(report_dir), "--report")
    select_tasks(config.tasks, config.subsets)  # unknown task or subset: fail before any work
    check_zero_shot(config.train.train_data, config.tasks, config.train.allow_eval_overlap)
    sweep_dir = Path(sweep_dir)
    sweep_dir.mkdir(parents=True, exist_ok=True)
    _remember(config, sweep_dir)
    (sweep_dir / TIMINGS_FILE).unlink(missing_ok=True)  # this invocation's phases, not earlier ones'
    runs = planned_runs(config)
    if executor.kind == "serial":
        _run_serially(config, runs, sweep_dir, results_dir, keep_checkpoints)
    else:
        from rich.console import Console

        from xlr_bench.models.encoder import resolve_source
        from xlr_bench.training.executors import dispatch

        resolve_source(config.base)  # the embedded model is converted here once, not by every job at once
        specs = [JobSpec(run_name(a, s), (config, a, s, sweep_dir.resolve(), Path(results_dir).resolve(),
                                          keep_checkpoints)) for a, s in [(None, None), *runs]]
        dispatch(run_job, specs, executor, sweep_dir, progress=Console(stderr=True).log)
    if report_dir is None:
        return None
    from xlr_bench.report.study import build_report

    started = time.perf_counter()
    report = build_report(results_dir, report_dir, family=sweep_family(config, sweep_dir), precision=config.precision,
                          about=_about(config, sweep_dir, runs))
    _log_timing(sweep_dir, "report", time.perf_counter() - started)
    return report


def sweep_family(config: SweepConfig, sweep_dir: Path) -> str | None:
    """The hybrid family of this sweep's checkpoints: its report compares the α of this recipe only, even
    where the results folder holds other families. None before any checkpoint exists."""
    from xlr_bench.models.encoder import definition_from_directory
    from xlr_bench.report.scores import ModelRuns

    runs = planned_runs(config)
    first = sweep_dir / run_name(*runs[0]) if runs else None
    if first is None or not first.is_dir():
        return None
    return ModelRuns(definition_from_directory(first).name, runs[0][0]).family


def _run_serially(config: SweepConfig, runs: list[tuple[float, int]], sweep_dir: Path, results_dir: Path,
                  keep_checkpoints: bool) -> None:
    """Every job in this process, phase by phase under one progress bar."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    phases = [("base", None, None, "evaluate")] + [p for a, s in runs for p in ((f"α={a:.2f} seed={s}", a, s, "train"),
                                                                                 (f"α={a:.2f} seed={s}", a, s, "evaluate"))]
    columns = [TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total} phases"),
               TimeElapsedColumn(), TextColumn("left"), TimeRemainingColumn()]
    with Progress(*columns) as progress:
        bar = progress.add_task("sweep", total=len(phases))
        for label, alpha, seed, phase in phases:
            progress.update(bar, description=f"{label}: {phase}")
            if label == "base":
                _score(config, config.base, "base", sweep_dir, results_dir)
            elif phase == "train":
                _train(config, alpha, seed, sweep_dir, label, keep_checkpoints)
            else:
                _score(config, str(sweep_dir / run_name(alpha, seed)), label, sweep_dir, results_dir)
            progress.advance(bar)
