"""Score a model on xlr-bench tasks through mteb and write leaderboard-format results."""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import mteb

from xlr_bench.core.errors import XLRBenchError
from xlr_bench.core.paths import check_output_folder
from xlr_bench.models.encoder import device_description
from xlr_bench.results.cache import result_cache_for


def select_tasks(names: list[str], subsets: list[str] | None = None) -> list[Any]:
    """mteb task objects, with unknown names or subsets reported with the valid choices.

    ``subsets`` apply across tasks (``de`` selects a pooled subset, ``de-de`` a monolingual one);
    every requested subset must exist in some task and every task must keep at least one.
    """
    tasks, matched = [], set()
    for name in names:
        try:
            task = mteb.get_task(name)
        except KeyError as exc:
            close = difflib.get_close_matches(name, [t.metadata.name for t in mteb.get_tasks()], n=3)
            raise XLRBenchError(f"Unknown task {name!r}." + (f" Did you mean: {', '.join(close)}?" if close else "")) from exc
        if subsets:
            wanted = [s for s in subsets if s in task.hf_subsets]
            if not wanted:
                raise XLRBenchError(
                    f"Task {name} has none of the subsets {', '.join(subsets)}; valid subsets: {', '.join(task.hf_subsets)}."
                )
            matched.update(wanted)
            task = mteb.get_task(name, hf_subsets=wanted)
        tasks.append(task)
    unknown = [s for s in subsets or [] if s not in matched]
    if unknown:
        valid = sorted({s for t in tasks for s in mteb.get_task(t.metadata.name).hf_subsets})
        raise XLRBenchError(f"Unknown subset(s) {', '.join(unknown)}; valid subsets: {', '.join(valid)}.")
    return tasks


def evaluate(model: Any, task_names: list[str], output: Path, *, subsets: list[str] | None = None,
             batch_size: int = 32, overwrite: bool = False) -> Any:
    """Run ``model`` (an mteb encoder) on the tasks; finished tasks in ``output`` are not recomputed.

    A task's result file appears only once every requested subset is scored (until then mteb's
    per-subset saves go to a partial file it resumes from); with ``overwrite`` an existing result is
    replaced only by a complete new one.
    """
    check_output_folder(Path(output), "--output")
    tasks = select_tasks(task_names, subsets)
    cache = result_cache_for(output)
    cache.expect(tasks)
    if getattr(model, "training", None):  # a trained checkpoint: what it was trained with, for the report
        cache.run_facts["training"] = model.training
    if getattr(model, "model", None) is not None and hasattr(model.model, "device"):
        cache.run_facts["device"] = device_description(model.model.device)
    try:
        with _quiet_dataset_maps():
            return mteb.evaluate(
                model, tasks, cache=cache,
                overwrite_strategy="always" if overwrite else "only-missing",
                encode_kwargs={"batch_size": batch_size, "show_progress_bar": True},
            )
    finally:  # stopped by an error or Ctrl-C: what was scored since the last partial write resumes too
        cache.flush_partials()


@contextmanager
def _quiet_dataset_maps() -> Iterator[None]:
    """No ``datasets`` bars while scoring: mteb maps every corpus and query set through ``Dataset.map``
    ("Map", "Standardizing text corpus format"), one sub-second bar per subset, which buried the two bars
    a reader follows (mteb's per-task subsets, the encoder's batches) under hundreds of lines."""
    import datasets

    was_enabled = datasets.is_progress_bar_enabled()
    datasets.disable_progress_bars()
    try:
        yield
    finally:
        if was_enabled:
            datasets.enable_progress_bars()
