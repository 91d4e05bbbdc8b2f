"""``xlr-bench train``: hybrid-batch fine-tuning from the command line."""

from __future__ import annotations

from pathlib import Path

import click

from xlr_bench.cli.options import data_dir_option
from xlr_bench.training.config import TrainConfig

_DEFAULTS = TrainConfig()


@click.command("train")
@click.option("--base", default=_DEFAULTS.base, show_default=True, help="Base model: definition name, directory or hub id.")
@click.option("--train-data", default=",".join(_DEFAULTS.train_data), show_default=True,
              help="Comma-separated: mlqa-r, xquad-r, afriqa, or .jsonl files of {id, lang_q, question, lang_p, passage}.")
@click.option("--ratio", "alpha", type=float, default=_DEFAULTS.alpha, show_default=True,
              help="α: probability that a batch is monolingual (1-α: cross-lingual).")
@click.option("--output", "-o", type=click.Path(path_type=Path, file_okay=False), required=True)
@click.option("--steps", type=int, default=None, help=f"Optimizer steps (default {_DEFAULTS.steps} unless --epochs).")
@click.option("--epochs", type=float, default=None)
@click.option("--batch-size", type=int, default=_DEFAULTS.batch_size, show_default=True, help="The paper uses 100 on GPU.")
@click.option("--lr", "learning_rate", type=float, default=_DEFAULTS.learning_rate, show_default=True)
@click.option("--weight-decay", type=float, default=_DEFAULTS.weight_decay, show_default=True)
@click.option("--warmup-ratio", type=float, default=_DEFAULTS.warmup_ratio, show_default=True)
@click.option("--max-length", type=int, default=_DEFAULTS.max_length, show_default=True)
@click.option("--scale", type=float, default=_DEFAULTS.scale, show_default=True, help="InfoNCE inverse temperature.")
@click.option("--symmetric", is_flag=True, help="Add the passage-to-question InfoNCE term.")
@click.option("--hard-negatives", is_flag=True, help="Add a neighbouring sentence of the answer as a hard negative.")
@click.option("--language-sampling", type=click.Choice(["uniform", "size"]), default=_DEFAULTS.language_sampling, show_default=True)
@click.option("--cross-mode", type=click.Choice(["row", "batch"]), default=_DEFAULTS.cross_mode, show_default=True,
              help="Cross-lingual batches: a language pair per row, or one pair per batch.")
@click.option("--seed", type=int, default=_DEFAULTS.seed, show_default=True)
@click.option("--max-pairs", type=int, default=None, help="Train on a deterministic subset of this many pairs.")
@click.option("--eval-tasks", default=",".join(_DEFAULTS.eval_tasks), show_default=True,
              help="Tasks the model will be evaluated on (zero-shot check).")
@click.option("--allow-eval-overlap", is_flag=True, help="Allow training data that shares a source with an evaluation task.")
@click.option("--bf16", is_flag=True, help="bf16 mixed precision (CPU autocast or GPU).")
@click.option("--tag", default="", help="Recipe label in the model's name: --tag 300steps gives "
                                        "xlr-bench/me5-small-hybrid-300steps-a050-s42.")
@data_dir_option
def train_cmd(train_data: str, eval_tasks: str, output: Path, steps: int | None, epochs: float | None, **options) -> None:
    """Fine-tune an encoder with hybrid monolingual/cross-lingual batches (arXiv 2408.10536).

    Runs on one CPU, one GPU, or several GPUs under `accelerate launch` / `torchrun`; running the
    same command again resumes an interrupted run.
    """
    from xlr_bench.training.trainer import train

    config = TrainConfig(train_data=train_data.split(","), eval_tasks=[t.strip() for t in eval_tasks.split(",") if t.strip()],
                         steps=steps if steps is not None or epochs is not None else _DEFAULTS.steps,
                         epochs=epochs, **options)
    path = train(config, output)
    click.echo(f"checkpoint: {path}")
