"""Every checkpoint with results is a model mteb knows, from its ``model_meta.json``.

Trained checkpoints are scored once and their weights may be gone (another machine, a cleaned disk),
but their results stay — and mteb's loaders, benchmark summary and zero-shot functions, and the
results repository's CI, look every model up in mteb's registry. So ``import xlr_bench`` registers each
model found in the results roots whose ``model_meta.json`` xlr-bench wrote (its loader is
``load_xlr_encoder``), with that file's metadata: name, revision, sizes, training data and lineage.
Loading such a model by name needs its weights (a definition or a checkpoint directory).

Results roots: ``results/`` of the current directory (the default of ``-o``; in a checkout of this
repository, the committed results; in the results repository's CI, the tree under test) and the
folders in ``XLR_BENCH_RESULTS`` (``os.pathsep``-separated).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from mteb.models import ModelMeta

from xlr_bench.results.cache import MODEL_META

RESULTS_ENV = "XLR_BENCH_RESULTS"
_LOADER = "load_xlr_encoder"


def model_meta_from_json(data: dict[str, Any], loader: Any = None) -> ModelMeta:
    """A ``ModelMeta`` from a ``model_meta.json`` mapping, validated as the results repository's CI does
    (loader replaced); mteb's deprecated ``is_cross_encoder`` key, which mteb writes itself, is dropped."""
    data = {k: v for k, v in data.items() if k != "is_cross_encoder"}
    return ModelMeta.model_validate({**data, "loader": loader})


def results_roots() -> list[Path]:
    """``results/`` of the current directory and the folders named in ``XLR_BENCH_RESULTS``, those that exist."""
    roots = [Path.cwd() / "results"] + [Path(p).expanduser() for p in os.environ.get(RESULTS_ENV, "").split(os.pathsep) if p]
    return [root for root in roots if root.is_dir()]


def result_model_metas(roots: list[Path] | None = None) -> list[ModelMeta]:
    """One ``ModelMeta`` per model name with results under ``roots`` (default: :func:`results_roots`).

    The revision-level ``model_meta.json`` (default settings) is read; of several revisions of one name
    the one with the most result files wins (ties: the highest revision), so the registry's revision is
    the one the results repository keeps when it de-duplicates. Unreadable files are skipped here:
    ``xlr-bench results validate`` reports them.
    """
    from xlr_bench.models.encoder import load_xlr_encoder

    best: dict[str, tuple[tuple[int, str], ModelMeta]] = {}
    for root in results_roots() if roots is None else roots:
        for path in sorted(root.glob(f"*/*/{MODEL_META}")):
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
                if not isinstance(data, dict) or data.get("loader") != _LOADER:
                    continue
                meta = model_meta_from_json({**data, "loader_kwargs": {}, "experiment_kwargs": None}, load_xlr_encoder)
            except Exception:  # noqa: BLE001 -- a broken file must not break `import xlr_bench`
                continue
            rank = (sum(1 for p in path.parent.rglob("*.json") if p.name != MODEL_META), str(meta.revision))
            if meta.name not in best or rank > best[meta.name][0]:
                best[meta.name] = (rank, meta)
    return [meta for _, meta in best.values()]
