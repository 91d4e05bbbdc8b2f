"""Training: hybrid-batch fine-tuning (pairs → sampler → trainer) and the α sweep that trains,
evaluates and reports one checkpoint per (α, seed)."""

from xlr_bench.training.pairs import Pair, TrainingData, check_zero_shot, load_training_data
from xlr_bench.training.sampler import HybridBatchSampler
from xlr_bench.training.sweep import SweepConfig, run_sweep
from xlr_bench.training.trainer import TrainConfig, train

__all__ = [
    "HybridBatchSampler", "Pair", "SweepConfig", "TrainConfig", "TrainingData", "check_zero_shot",
    "load_training_data", "run_sweep", "train",
]
