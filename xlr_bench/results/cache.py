"""Leaderboard-format results: the MTEB results repository's layout, written atomically.

``-o DIR`` / ``--results DIR`` name the **results root**, whatever it is called: the folder that holds
``<org__model>/<revision>/…``, exactly like the ``results/`` folder of the MTEB results repository
(and of mteb's ``ResultCache(PATH)``, whose root is ``PATH/results``). Per model revision:

    <org__model>/<revision>/model_meta.json                      the model (default settings)
    <org__model>/<revision>/<Task>.json, run_settings.jsonl      results encoded with default settings
    <org__model>/<revision>/experiments/<name>/…                 results with experiment settings

Encoding precision other than fp32 is an mteb experiment setting (``experiment_kwargs``), so bf16
results sit in ``experiments/precision_bf16/`` with their own ``model_meta.json``, and the revision
folder still gets the default ``model_meta.json`` the results repository requires. mteb writes
these files in place; :class:`AtomicResultCache` stages each save beside the root and moves the
files into place, so a killed run never leaves a half-written result that a later run would trust.

mteb also saves a task's result after every subset, so that a killed evaluation resumes. A result
that lacks subsets the evaluation was asked for goes to ``.<Task>.json.partial`` beside the final
file instead, at most every :data:`PARTIAL_EVERY_S` seconds (each save rewrites the whole growing file:
once per subset that was 11 % of scoring XQuAD-R's 132 subsets; what is not yet on disk is written
when the evaluation stops, even by Ctrl-C or an error, see :meth:`AtomicResultCache.flush_partials`, so
only a killed process loses up to that many seconds of scoring). ``<Task>.json`` appears only complete
(so ``evaluate --overwrite`` replaces an old result only with a complete new one), mteb resumes from the partial file, and ``results validate``
and the report name partial files and never use them. Staging folders a killed run left behind are
removed by the next save (:func:`xlr_bench.core.atomic.remove_leftovers`).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mteb.cache import ResultCache
from mteb.models import ModelMeta
from mteb.results import TaskResult

from xlr_bench.core.atomic import atomic_open, remove_leftovers, temp_prefix
from xlr_bench.core.errors import XLRBenchError

RUN_SETTINGS = "run_settings.jsonl"
MODEL_META = "model_meta.json"
PARTIAL_SUFFIX = ".partial"
PARTIAL_EVERY_S = 30.0


def partial_path(result_path: Path) -> Path:
    """Where an unfinished task result is kept: ``.<Task>.json.partial`` beside ``<Task>.json``."""
    return result_path.with_name(f".{result_path.name}{PARTIAL_SUFFIX}")


def is_partial_file(path: Path) -> bool:
    """Whether ``path`` is named like an unfinished task result (:func:`partial_path`)."""
    return path.name.startswith(".") and path.name.endswith(".json" + PARTIAL_SUFFIX)


def partial_files(root: Path) -> list[Path]:
    """Every unfinished task result under a results root."""
    pattern = f".*.json{PARTIAL_SUFFIX}"
    return sorted([*Path(root).glob(f"*/*/{pattern}"), *Path(root).glob(f"*/*/experiments/*/{pattern}")])


def read_partial(path: Path) -> tuple[str, int]:
    """(task name, number of subsets scored) of a partial file, for messages."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return str(data.get("task_name")), len({e.get("hf_subset") for entries in data.get("scores", {}).values()
                                                for e in entries})
    except (OSError, ValueError, AttributeError):
        return path.name[1:-len(".json" + PARTIAL_SUFFIX)], 0


def describe_partial(path: Path) -> str:
    """The one message for a partial file, shared by ``results validate`` and the report."""
    task, scored = read_partial(path)
    return (f"unfinished evaluation of {task} ({scored} subset(s) scored), not a result: rerun the same "
            "evaluate command to finish it, or delete the file")


class AtomicResultCache(ResultCache):
    """A ``ResultCache`` writing into the results root ``root``, whose files appear complete or not at all."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        super().__init__(self.root)
        self.expected: dict[str, dict[str, set[str]]] = {}
        self.run_facts: dict[str, Any] = {}  # recorded in the run settings, e.g. a checkpoint's training facts
        self._unsaved: dict[Path, TaskResult] = {}  # partial results newer than their file
        self._partial_saved: dict[Path, float] = {}  # when each partial file was last written (monotonic)

    def get_task_result_path(self, task_name: str, model_name: str | ModelMeta, model_revision: str | None = None,
                             remote: bool = False, experiment_name: str | None = None) -> Path:
        path = super().get_task_result_path(task_name, model_name, model_revision, remote, experiment_name)
        return path if remote else self.root / path.relative_to(self.cache_path / "results")

    def expect(self, tasks: list[Any]) -> None:
        """Declare the subsets each task's evaluation will score; a result short of them is partial."""
        for task in tasks:
            self.expected[task.metadata.name] = {split: set(task.hf_subsets) for split in task.eval_splits}

    def is_complete(self, task_result: TaskResult) -> bool:
        """Whether ``task_result`` holds every subset declared with :meth:`expect` (True when none was)."""
        wanted = self.expected.get(task_result.task_name)
        if wanted is None:
            return True
        have = {split: {e.get("hf_subset") for e in entries} for split, entries in task_result.scores.items()}
        return all(subsets <= have.get(split, set()) for split, subsets in wanted.items())

    def load_task_result(self, task_name: str, model_name: str | ModelMeta, model_revision: str | None = None,
                         raise_if_not_found: bool = False, prioritize_remote: bool = False,
                         experiment_name: str | None = None) -> TaskResult | None:
        """The complete result, else the partial one (so a killed evaluation resumes); a file that does
        not parse is an error naming it rather than a traceback."""
        path = self.get_task_result_path(task_name=task_name, model_name=model_name, model_revision=model_revision,
                                         experiment_name=experiment_name)
        for candidate in (path, partial_path(path)):
            if candidate.is_file():
                try:
                    return TaskResult.from_disk(candidate)
                except Exception as exc:  # json / pydantic errors on a damaged file
                    raise XLRBenchError(
                        f"{candidate} is not a readable mteb result ({type(exc).__name__}: "
                        f"{str(exc).splitlines()[0] if str(exc) else ''}); delete it, or rerun with --overwrite."
                    ) from exc
        return super().load_task_result(task_name, model_name, model_revision, raise_if_not_found=raise_if_not_found,
                                        prioritize_remote=prioritize_remote, experiment_name=experiment_name)

    def save_to_cache(
        self,
        task_result: TaskResult,
        model_name: str | ModelMeta,
        model_revision: str | None = None,
        *,
        encode_kwargs: Mapping[str, Any] | None = None,
    ) -> None:
        result_path = self.get_task_result_path(model_name=model_name, model_revision=model_revision,
                                                task_name=task_result.task_name)
        final = result_path.parent
        final.mkdir(parents=True, exist_ok=True)
        if not self.is_complete(task_result):
            self._unsaved[result_path] = task_result
            if time.monotonic() - self._partial_saved.get(result_path, -PARTIAL_EVERY_S) >= PARTIAL_EVERY_S:
                self.flush_partials()
            return
        self._unsaved.pop(result_path, None)
        remove_leftovers(self.root.parent, self._staging)  # what a killed save left
        settings = dict(encode_kwargs or {}) | self.run_facts
        if isinstance(model_name, ModelMeta):
            settings["precision"] = (model_name.experiment_kwargs or {}).get("precision", "fp32")
            settings["backend"] = (model_name.experiment_kwargs or {}).get("backend", "torch")
        # staged beside the root, not in it: a leftover of a killed run is never mistaken for a model folder
        with tempfile.TemporaryDirectory(dir=self.root.parent, prefix=temp_prefix(self._staging)) as tmp:
            staging = AtomicResultCache(Path(tmp))
            staged = staging.get_task_result_path(model_name=model_name, model_revision=model_revision,
                                                  task_name=task_result.task_name).parent
            staged.mkdir(parents=True, exist_ok=True)
            if (final / RUN_SETTINGS).exists():  # mteb merges run settings with what is there
                shutil.copy(final / RUN_SETTINGS, staged / RUN_SETTINGS)
            ResultCache.save_to_cache(staging, task_result, model_name, model_revision, encode_kwargs=settings)
            _sort_set_fields(staged / MODEL_META)
            for path in staged.iterdir():
                os.replace(path, final / path.name)
        partial_path(result_path).unlink(missing_ok=True)
        if isinstance(model_name, ModelMeta) and model_name.experiment_name:
            write_model_meta(final.parents[1] / MODEL_META, model_name.model_copy(update={"experiment_kwargs": None}))

    def flush_partials(self) -> None:
        """Write the partial results that are newer than their files (see the module docstring)."""
        remove_leftovers(self.root.parent, self._staging)  # what a killed save left
        for result_path, task_result in list(self._unsaved.items()):
            with tempfile.TemporaryDirectory(dir=self.root.parent, prefix=temp_prefix(self._staging)) as tmp:
                task_result.to_disk(Path(tmp) / result_path.name)
                os.replace(Path(tmp) / result_path.name, partial_path(result_path))
            self._partial_saved[result_path] = time.monotonic()
            del self._unsaved[result_path]

    @property
    def _staging(self) -> str:
        """The name staging folders are temporaries of: ``.<root>-staging.<pid>.<random>`` beside the root."""
        return f"{self.root.name}-staging"


def _sorted_sets(meta: dict[str, Any]) -> dict[str, Any]:
    """mteb writes ``training_datasets`` (a set) in hash order, which changes from process to process;
    sorted, re-scoring a model leaves its committed ``model_meta.json`` unchanged."""
    if isinstance(meta.get("training_datasets"), list):
        meta["training_datasets"] = sorted(meta["training_datasets"])
    return meta


def write_model_meta(path: Path, meta: ModelMeta) -> None:
    """Write ``meta`` as mteb's ``model_meta.json`` at ``path`` (set fields sorted), atomically."""
    with atomic_open(path, "w", encoding="utf-8") as handle:
        handle.write(json.dumps(_sorted_sets(json.loads(json.dumps(meta.to_dict(), default=str))),
                                indent=4, ensure_ascii=False))


def _sort_set_fields(meta_path: Path) -> None:
    """Rewrite the ``model_meta.json`` mteb wrote with its set fields sorted (:func:`_sorted_sets`)."""
    if meta_path.is_file():
        meta = _sorted_sets(json.loads(meta_path.read_text(encoding="utf-8")))
        meta_path.write_text(json.dumps(meta, indent=4, ensure_ascii=False), encoding="utf-8")


def result_cache_for(root: Path) -> AtomicResultCache:
    """The cache that writes into the results root ``root`` (``root/<org__model>/<revision>/…``)."""
    return AtomicResultCache(Path(root))


def no_results_error(root: Path) -> XLRBenchError:
    """The error for a folder that holds no results: what a results root holds, and which commands write one.

    A common slip is passing the folder *above* the root (mteb's own ``ResultCache(PATH)`` writes into
    ``PATH/results/``), so a ``model_meta.json`` found deeper is named as the way out.
    """
    root = Path(root)
    deeper = sorted(p for p in root.glob("**/" + MODEL_META)
                    if len(p.relative_to(root).parts) > 3 and p.parent.parent.name != "experiments")
    hint = ""
    if deeper:
        hint = f" Results lie deeper: pass {deeper[0].parents[2]}, the folder that holds their <org__model> folder."
    return XLRBenchError(
        f"No results in {root}: a results root holds <org__model>/<revision>/ folders, each with a {MODEL_META} "
        f"and one <Task>.json per task, as `xlr-bench evaluate -o DIR`, `xlr-bench sweep --results DIR` and "
        f"`xlr-bench mteb run --output-folder DIR` write them." + hint)
