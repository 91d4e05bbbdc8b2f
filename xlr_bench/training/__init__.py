"""Training: hybrid-batch fine-tuning (pairs → sampler → trainer) and the α sweep that trains,
evaluates and reports one checkpoint per (α, seed).

The names below are imported on first use, so that reading a configuration (``TrainConfig``, as the
command line does for its defaults) does not import sentence-transformers and torch.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Pair": "pairs", "TrainingData": "pairs", "check_zero_shot": "pairs", "load_training_data": "pairs",
    "HybridBatchSampler": "sampler", "SweepConfig": "sweep", "run_sweep": "sweep", "TrainConfig": "config",
    "train": "trainer",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'xlr_bench.training' has no attribute {name!r}")
    return getattr(importlib.import_module(f"xlr_bench.training.{_EXPORTS[name]}"), name)
