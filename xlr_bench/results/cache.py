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
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mteb.cache import ResultCache
from mteb.models import ModelMeta
from mteb.results import TaskResult

RUN_SETTINGS = "run_settings.jsonl"
MODEL_META = "model_meta.json"


class AtomicResultCache(ResultCache):
    """A ``ResultCache`` writing into the results root ``root``, whose files appear complete or not at all."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        super().__init__(self.root)

    def get_task_result_path(self, task_name: str, model_name: str | ModelMeta, model_revision: str | None = None,
                             remote: bool = False, experiment_name: str | None = None) -> Path:
        path = super().get_task_result_path(task_name, model_name, model_revision, remote, experiment_name)
        return path if remote else self.root / path.relative_to(self.cache_path / "results")

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
        # staged beside the root, not in it: a leftover of a killed run is never mistaken for a model folder
        with tempfile.TemporaryDirectory(dir=self.root.parent, prefix=f".{self.root.name}-staging-") as tmp:
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
        if isinstance(model_name, ModelMeta) and model_name.experiment_name:
            write_model_meta(final.parents[1] / MODEL_META, model_name.model_copy(update={"experiment_kwargs": None}))


def _sorted_sets(meta: dict[str, Any]) -> dict[str, Any]:
    """mteb writes ``training_datasets`` (a set) in hash order, which changes from process to process;
    sorted, re-scoring a model leaves its committed ``model_meta.json`` unchanged."""
    if isinstance(meta.get("training_datasets"), list):
        meta["training_datasets"] = sorted(meta["training_datasets"])
    return meta


def write_model_meta(path: Path, meta: ModelMeta) -> None:
    """Write ``meta`` as mteb's ``model_meta.json`` at ``path`` (set fields sorted), atomically."""
    from xlr_bench.core.atomic import atomic_open

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
