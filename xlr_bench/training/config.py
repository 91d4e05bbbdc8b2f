"""The knobs of a training run, in a module that imports nothing heavy: the command line reads the
defaults for its options (``xlr-bench train --help``) without importing transformers or torch."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class TrainConfig:
    """Every knob of a training run; defaults follow the paper where it states them."""

    base: str = "me5-small"
    train_data: list[str] = field(default_factory=lambda: ["mlqa-r", "afriqa"])
    alpha: float = 0.5
    seed: int = 42
    steps: int | None = 200
    epochs: float | None = None
    batch_size: int = 32  # the paper uses 100 on GPU; 32 fits 2 CPU cores
    learning_rate: float = 3e-5
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    max_length: int = 128
    scale: float = 20.0
    symmetric: bool = False
    hard_negatives: bool = False
    language_sampling: str = "uniform"
    cross_mode: str = "row"
    eval_fraction: float = 0.02
    eval_steps: int | None = None
    save_steps: int | None = None
    eval_tasks: list[str] = field(default_factory=lambda: ["XQuADRRetrieval", "AfriQARetrieval"])
    allow_eval_overlap: bool = False
    max_pairs: int | None = None  # cap the training pairs (quick runs); a deterministic subset
    bf16: bool = False
    tag: str = ""  # a recipe label in the checkpoint's model name (models/encoder.py: trained_model_name)
