"""Leaderboard-format results: mteb's ``ResultCache`` layout, written atomically, and validated.

Layout (exactly mteb's): ``results/<org__model>/<revision>/<Task>.json`` + ``model_meta.json`` +
``run_settings.jsonl``. mteb writes these files in place; :class:`AtomicResultCache` stages each
save in a temporary folder and moves the files into place, so a killed run never leaves a
half-written result that a later run would trust. The run settings also record the encoding
precision, so results computed in bf16 are never mistaken for fp32 ones.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mteb.cache import ResultCache
from mteb.models import ModelMeta
from mteb.results import TaskResult

from xlr_bench.core.errors import XLRBenchError

RUN_SETTINGS = "run_settings.jsonl"


class AtomicResultCache(ResultCache):
    """A ``ResultCache`` whose files appear complete or not at all."""

    def save_to_cache(
        self,
        task_result: TaskResult,
        model_name: str | ModelMeta,
        model_revision: str | None = None,
        *,
        encode_kwargs: Mapping[str, Any] | None = None,
    ) -> None:
        final = self.get_task_result_path(model_name=model_name, model_revision=model_revision,
                                          task_name=task_result.task_name).parent
        final.mkdir(parents=True, exist_ok=True)
        settings = dict(encode_kwargs or {})
        if isinstance(model_name, ModelMeta):
            settings["precision"] = (model_name.experiment_kwargs or {}).get("precision", "fp32")
            settings["backend"] = (model_name.experiment_kwargs or {}).get("backend", "torch")
        with tempfile.TemporaryDirectory(dir=self.cache_path, prefix=".staging-") as tmp:
            staging = ResultCache(tmp)
            staged = staging.get_task_result_path(model_name=model_name, model_revision=model_revision,
                                                  task_name=task_result.task_name).parent
            staged.mkdir(parents=True, exist_ok=True)
            if (final / RUN_SETTINGS).exists():  # mteb merges run settings with what is there
                shutil.copy(final / RUN_SETTINGS, staged / RUN_SETTINGS)
            ResultCache.save_to_cache(staging, task_result, model_name, model_revision, encode_kwargs=settings)
            _sort_set_fields(staged / "model_meta.json")
            for path in staged.iterdir():
                os.replace(path, final / path.name)


def _sort_set_fields(meta_path: Path) -> None:
    """mteb writes ``training_datasets`` (a set) in hash order, which changes from process to process;
    sorted, re-scoring a model leaves its committed ``model_meta.json`` unchanged."""
    if not meta_path.is_file():
        return
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    if isinstance(meta.get("training_datasets"), list):
        meta["training_datasets"] = sorted(meta["training_datasets"])
        meta_path.write_text(json.dumps(meta, indent=4, ensure_ascii=False), encoding="utf-8")


def result_cache_for(output: Path) -> AtomicResultCache:
    """The cache whose ``results/`` folder is ``output`` (or ``output/results`` for another name)."""
    output = Path(output)
    return AtomicResultCache(output.parent if output.name == "results" else output)


def results_root(output: Path) -> Path:
    """The ``results/`` folder that :func:`result_cache_for` writes into."""
    output = Path(output)
    return output if output.name == "results" else output / "results"


_ABS_PATH = re.compile(r"(^|[\s\"'=])(/(?:home|root|tmp|work|Users|mnt|var|opt)/[^\s\"']*)")


@dataclass
class Problem:
    """One finding of :func:`validate_results`."""

    path: Path
    message: str


def validate_results(root: Path) -> tuple[int, list[Problem]]:
    """Check a results tree the way the leaderboard's results repository does.

    Per ``<model>/<revision>/`` folder: ``model_meta.json`` parses and its name/revision match the
    folder; every task file parses as an mteb ``TaskResult`` with its mteb version recorded; run
    settings record library versions; no file contains a local filesystem path.
    Returns the number of task files checked and the problems found.
    """
    root = Path(root)
    if not root.is_dir():
        raise XLRBenchError(f"Results folder {root} does not exist.")
    problems: list[Problem] = []
    checked = 0
    # a run with experiment settings (e.g. precision) sits in <revision>/experiments/<name>/ (mteb's layout)
    run_dirs = [p for p in root.glob("*/*") if p.is_dir() and any(p.glob("*.json"))]
    run_dirs += [p for p in root.glob("*/*/experiments/*") if p.is_dir()]
    for revision_dir in sorted(run_dirs):
        experiment = revision_dir.parent.name == "experiments"
        model_dir = (revision_dir.parents[2] if experiment else revision_dir.parent).name
        revision = revision_dir.parents[1].name if experiment else revision_dir.name
        meta_path = revision_dir / "model_meta.json"
        if not meta_path.is_file():
            problems.append(Problem(revision_dir, "model_meta.json is missing"))
        else:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            if str(meta.get("name", "")).replace("/", "__") != model_dir:
                problems.append(Problem(meta_path, f"name {meta.get('name')!r} does not match folder {model_dir!r}"))
            if str(meta.get("revision")) != revision:
                problems.append(Problem(meta_path, f"revision {meta.get('revision')!r} does not match folder {revision!r}"))
        settings = revision_dir / RUN_SETTINGS
        if not settings.is_file():
            problems.append(Problem(revision_dir, f"{RUN_SETTINGS} is missing"))
        else:
            for n, line in enumerate(settings.read_text(encoding="utf-8").splitlines(), 1):
                if line.strip() and not json.loads(line).get("version", {}).get("mteb"):
                    problems.append(Problem(settings, f"line {n} records no mteb version"))
        for task_file in sorted(revision_dir.glob("*.json")):
            if task_file.name == "model_meta.json":
                continue
            checked += 1
            try:
                result = TaskResult.from_disk(task_file)
            except Exception as exc:  # pydantic / json errors: report, keep checking the rest
                problems.append(Problem(task_file, f"not an mteb TaskResult: {exc}"))
                continue
            if not result.mteb_version:
                problems.append(Problem(task_file, "no mteb_version recorded"))
        for path in sorted(revision_dir.iterdir()):
            match = _ABS_PATH.search(path.read_text(encoding="utf-8")) if path.is_file() else None
            if match:
                problems.append(Problem(path, f"contains a local filesystem path: {match.group(2)}"))
    return checked, problems
