"""Hybrid-batch contrastive fine-tuning: a small driver around sentence-transformers' trainer.

Everything heavy is the ecosystem's: ``SentenceTransformerTrainer`` (AdamW, warm-up, checkpoints,
resume, evaluation), ``MultipleNegativesRankingLoss`` (InfoNCE with in-batch negatives, cosine,
scale; optional symmetric term and hard negatives), E5-style prompts. What this module adds is the
recipe of arXiv 2408.10536 — the :class:`~xlr_bench.training.sampler.HybridBatchSampler`, the
training pairs, a held-out multilingual validation split for checkpoint selection — and the
training record that the model wrapper turns into mteb metadata.

Output layout: ``OUTPUT/`` is the final sentence-transformers checkpoint plus
``xlr_bench_training.json``; ``OUTPUT/checkpoints/checkpoint-N`` are the trainer's resumable
checkpoints. Running the same command again on a killed run resumes from the last of them.

Interruptions are harmless at every point: the random state at the first step does not depend on
whether this attempt measured the untrained model's validation loss (the start evaluation's draws
are undone) or found it cached by an earlier attempt or another run of the sweep; a resumed run gets
the rest from its checkpoint's RNG and optimizer state, which must be there (the last step's checkpoint,
never resumed from, holds the weights and trainer state only: :class:`_LastCheckpoint`); the data and base
weights a run started from are checksummed and a rerun on changed ones is refused; the final model
is written to ``OUTPUT/.final.part`` and moved into place before the training record, which is
written last and marks a finished run (a rerun of a finished run changes nothing).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import platform
import random
import re
import shutil
from dataclasses import asdict
from datetime import datetime, timezone
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING

from transformers import TrainerCallback

from xlr_bench.core.errors import XLRBenchError
from xlr_bench.core.paths import check_output_folder
from xlr_bench.training.config import TrainConfig
from xlr_bench.training.pairs import Pair, check_zero_shot, load_training_data

if TYPE_CHECKING:  # the sampler imports sentence-transformers: not at import, so `xlr-bench train --help` is fast
    from xlr_bench.training.sampler import HybridBatchSampler

CONFIG_FILE = "xlr_bench_train_config.json"
BASE_EVAL_FILE = "xlr_bench_base_eval.json"  # validation loss of the untrained model, kept across resumes
INPUTS_FILE = "xlr_bench_train_inputs.json"  # checksums of the data and base weights the run started from
FINAL_STAGING = ".final.part"  # the final model is written here, then moved into OUTPUT
# What the trainer needs to continue a run exactly where it stopped (rng_state.pth: one per rank
# under several processes); a checkpoint with trainer_state.json but without one of these is refused.
RESUME_FILES = {"trainer_state.json": "trainer state", "optimizer.pt": "optimizer state",
                "scheduler.pt": "learning-rate schedule", "model.safetensors": "model weights"}


def split_validation(pairs: list[Pair], fraction: float) -> tuple[list[Pair], list[Pair]]:
    """Hold out whole question groups (hash-based, so the split is stable across runs)."""
    def held_out(group: str) -> bool:
        return int(hashlib.sha256(group.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF < fraction

    train = [p for p in pairs if not held_out(p.group)]
    valid = [p for p in pairs if held_out(p.group)]
    return train, valid


def _subsample(pairs: list[Pair], limit: int | None, seed: int) -> list[Pair]:
    if limit is None or len(pairs) <= limit:
        return pairs
    import numpy as np

    keep = np.sort(np.random.default_rng(seed).choice(len(pairs), size=limit, replace=False))
    return [pairs[i] for i in keep]


def _dataset(pairs: list[Pair], hard_negatives: bool, row_numbers: bool = False):
    """The texts as a datasets.Dataset; ``row_numbers`` adds the column the batch log reads (and strips)."""
    from datasets import Dataset

    from xlr_bench.training.distributed import ROW_COLUMN

    columns = {"anchor": [p.question for p in pairs], "positive": [p.passage for p in pairs]}
    if hard_negatives:
        columns["negative"] = [p.negative or p.passage for p in pairs]
    if row_numbers:
        columns[ROW_COLUMN] = list(range(len(pairs)))
    return Dataset.from_dict(columns)


class _SamplerFactory:
    """What the trainer calls for a batch sampler, for the training and the validation set.

    Training batches follow the run's α. Validation batches are hybrid too (no parallel duplicates
    in a batch) but with a fixed α = 0.5 and seed, so the validation loss is one fixed yardstick.
    """

    def __init__(self, train_pairs: list[Pair], valid_pairs: list[Pair], config: TrainConfig, world_size: int) -> None:
        self.train_pairs, self.valid_pairs = train_pairs, valid_pairs
        self.options = dict(language_sampling=config.language_sampling, cross_mode=config.cross_mode)
        self.alpha, self.world_size = config.alpha, world_size

    def __getstate__(self) -> dict:
        # The trainer pickles its arguments, this factory included, into every checkpoint
        # (training_args.bin). The pairs come from the checksummed data files named in the training
        # record; pickling them would add ~44 MB and a second of work to each checkpoint.
        return {**self.__dict__, "train_pairs": [], "valid_pairs": []}

    def __call__(self, dataset, batch_size: int, drop_last: bool, valid_label_columns=None, generator=None,
                 seed: int = 0) -> HybridBatchSampler:
        from xlr_bench.training.sampler import HybridBatchSampler

        if dataset is None or len(dataset) == len(self.train_pairs):
            return HybridBatchSampler(dataset, batch_size, drop_last, seed=seed, pairs=self.train_pairs,
                                      alpha=self.alpha, world_size=self.world_size, **self.options)
        kinds = {p.monolingual for p in self.valid_pairs}
        alpha = 0.5 if len(kinds) == 2 else float(kinds.pop())
        per_rank = max(1, len({p.group for p in self.valid_pairs}) // self.world_size)
        return HybridBatchSampler(dataset, min(batch_size, per_rank), drop_last,
                                  seed=0, pairs=self.valid_pairs, alpha=alpha, world_size=self.world_size, **self.options)


def check_config(config: TrainConfig) -> None:
    """Types and ranges of every knob, before any work (the trainer reads a negative step count as
    "one epoch" and a zero length as "no limit" without a word)."""
    if not 0.0 <= config.alpha <= 1.0:
        raise XLRBenchError(f"--ratio (alpha) must be in [0, 1], got {config.alpha}.")
    if (config.steps is None) == (config.epochs is None):
        raise XLRBenchError("Give exactly one of --steps or --epochs.")
    positive_ints = {"--steps": config.steps, "--batch-size": config.batch_size, "--max-length": config.max_length,
                     "--max-pairs": config.max_pairs, "--eval-steps": config.eval_steps,
                     "--save-steps": config.save_steps}
    for option, value in positive_ints.items():
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise XLRBenchError(f"{option} must be a whole number of at least 1, got {value!r}.")
    positive = {"--epochs": config.epochs, "--lr": config.learning_rate, "--scale": config.scale}
    for option, value in positive.items():
        if value is not None and not (isinstance(value, (int, float)) and value > 0 and value != float("inf")):
            raise XLRBenchError(f"{option} must be a number above 0, got {value!r}.")
    if not 0 <= config.weight_decay < float("inf"):
        raise XLRBenchError(f"--weight-decay must be 0 or more, got {config.weight_decay!r}.")
    if not 0 <= config.warmup_ratio < 1:
        raise XLRBenchError(f"--warmup-ratio must be in [0, 1), got {config.warmup_ratio!r}.")
    if not 0 <= config.eval_fraction < 1:
        raise XLRBenchError(f"eval_fraction must be in [0, 1), got {config.eval_fraction!r}.")
    if not isinstance(config.seed, int) or config.seed < 0:
        raise XLRBenchError(f"--seed must be a whole number of 0 or more, got {config.seed!r}.")
    if not re.fullmatch(r"[0-9a-z]*", config.tag) or re.fullmatch(r"a\d{3}|s\d+", config.tag):
        raise XLRBenchError(f"--tag must be lower-case letters and digits without '-', and not an α or seed part "
                            f"(a050, s42), because it becomes part of the model's name; got {config.tag!r}.")
    if not config.train_data or not all(config.train_data):
        raise XLRBenchError("--train-data is empty: name mlqa-r, xquad-r, afriqa or .jsonl files, comma-separated.")


def _check_config(config: TrainConfig, output: Path) -> None:
    check_config(config)
    check_output_folder(output, "--output")
    saved = output / CONFIG_FILE
    if saved.is_file():
        previous = _read_run_file(saved)
        differing = {k: (previous.get(k), v) for k, v in asdict(config).items() if previous.get(k) != v}
        if differing:
            details = "; ".join(f"{k}: {old!r} there, {new!r} now" for k, (old, new) in differing.items())
            raise XLRBenchError(f"{output} holds a run with another configuration ({details}). Use a new --output.")


def _read_run_file(path: Path) -> dict:
    """A JSON file the trainer wrote into a run folder, or an error that names it."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise XLRBenchError(f"{path} is not valid JSON ({exc}); the run folder was edited or damaged. "
                            "Use a new --output.") from exc
    if not isinstance(data, dict):
        raise XLRBenchError(f"{path} does not hold a JSON object; the run folder was edited. Use a new --output.")
    return data


def _check_inputs(output: Path, inputs: dict) -> None:
    """Refuse to continue a run whose data files or base weights changed since it started.

    Resuming on other data (an edited JSONL, another copy of a dataset) would train one model on two
    datasets while the record named only the second.
    """
    saved = output / INPUTS_FILE
    if not saved.is_file():
        return
    previous = _read_run_file(saved)
    changed = [f"{name}: sha256 {str(previous.get('data_checksums', {}).get(name))[:12]}… when it started, "
               f"{digest[:12]}… now" for name, digest in inputs["data_checksums"].items()
               if previous.get("data_checksums", {}).get(name) != digest]
    if previous.get("base_model_hash") != inputs["base_model_hash"]:
        changed.append(f"base model weights: {previous.get('base_model_hash')} when it started, "
                       f"{inputs['base_model_hash']} now")
    if changed:
        raise XLRBenchError(f"{output} holds a run started on other inputs ({'; '.join(changed)}). Resuming would "
                            "mix them: restore the original files, or use a new --output.")


def _check_resumable(checkpoint: str, world_size: int) -> None:
    """A checkpoint to resume from must hold every state that makes the rest of the run exact."""
    folder = Path(checkpoint)
    needed = dict(RESUME_FILES)
    if world_size > 1:
        needed |= {f"rng_state_{rank}.pth": f"random state of rank {rank}" for rank in range(world_size)}
    else:
        needed["rng_state.pth"] = "random state"
    missing = [f"{name} ({what})" for name, what in needed.items() if not (folder / name).is_file()]
    if missing:
        raise XLRBenchError(
            f"Checkpoint {folder} lacks {', '.join(missing)}: resuming from it would not continue the run "
            f"exactly. Delete {folder.name} to resume from the checkpoint before it (or from the start), or use "
            "a new --output."
        )


def _last_complete_checkpoint(folder: Path) -> str | None:
    """The newest checkpoint the trainer finished writing; half-written ones (a kill mid-save) are removed.

    The trainer writes ``trainer_state.json`` last, so a checkpoint without it cannot be resumed from
    (transformers' ``get_last_checkpoint`` would still pick it and fail).
    """
    steps = sorted((int(p.name.rsplit("-", 1)[-1]), p) for p in folder.glob("checkpoint-*")
                   if p.is_dir() and p.name.rsplit("-", 1)[-1].isdigit()) if folder.is_dir() else []
    for _, path in reversed(steps):
        if (path / "trainer_state.json").is_file():
            return str(path)
        logging.getLogger(__name__).warning("Removing half-written checkpoint %s (no trainer_state.json).", path)
        shutil.rmtree(path)
    return None


def _at_last_step(state) -> bool:
    """Whether a trainer state reached the run's last step: a checkpoint saved there is never resumed from."""
    return bool(state.max_steps and state.global_step >= state.max_steps)


def _finished_state(checkpoint: str | None):
    """The trainer state of ``checkpoint`` if it already reached the run's last step, else None."""
    from transformers import TrainerState

    if checkpoint is None:
        return None
    state = TrainerState.load_from_json(str(Path(checkpoint) / "trainer_state.json"))
    return state if _at_last_step(state) else None


def _best_checkpoint(last: str, state) -> Path:
    """Where the best weights of a finished run are (by name: the run folder may have moved)."""
    best = state.best_model_checkpoint
    return Path(last).parent / Path(best).name if best and (Path(last).parent / Path(best).name).is_dir() else Path(last)


def _move(source: Path, target: Path) -> None:
    """Move one file or folder of the staged final model over its old version."""
    if target.is_dir() and not target.is_symlink():
        shutil.rmtree(target)
    os.replace(source, target)


def _save_final(model, output: Path) -> None:
    """Write the final model next to the run and move it into ``output`` (the record comes after).

    A kill during the save leaves either the staging folder (removed on the next run) or a model
    folder without its training record, which a rerun completes and nothing else reads as finished.
    """
    staging = output / FINAL_STAGING
    shutil.rmtree(staging, ignore_errors=True)
    model.save(str(staging))
    for entry in sorted(staging.iterdir()):
        _move(entry, output / entry.name)
    staging.rmdir()


def _validation_key(config: TrainConfig, base_hash: str, checksums: dict, world_size: int) -> str:
    """What the untrained model's validation loss depends on: everything but the run's own knobs.

    The validation split, its batches (fixed α and seed) and the base weights are the same for every
    α and seed of a sweep; a field added to :class:`TrainConfig` later counts unless listed here.
    """
    own = {"alpha", "seed", "steps", "epochs", "learning_rate", "weight_decay", "warmup_ratio", "eval_steps",
           "save_steps", "eval_tasks", "allow_eval_overlap", "max_pairs"}
    facts = {k: v for k, v in asdict(config).items() if k not in own} | {
        "base_hash": base_hash, "checksums": checksums, "world_size": world_size}
    return hashlib.sha256(json.dumps(facts, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _known_base_loss(output: Path, shared: Path | None, key: str) -> float | None:
    """The untrained model's validation loss if this run (before a resume) or another run of the sweep
    measured it already; ``None`` when it still has to be measured."""
    own = output / BASE_EVAL_FILE
    if own.is_file():
        return json.loads(own.read_text())["eval_loss"]
    table = json.loads(shared.read_text()) if shared is not None and shared.is_file() else {}
    return table.get(key)


def _random_state() -> dict:
    """The state of every generator training draws from (python, numpy, torch, CUDA)."""
    import numpy as np
    import torch

    return {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None}


def _set_random_state(saved: dict) -> None:
    import numpy as np
    import torch

    random.setstate(saved["python"])
    np.random.set_state(saved["numpy"])
    torch.set_rng_state(saved["torch"])
    if saved["cuda"] is not None:
        torch.cuda.set_rng_state_all(saved["cuda"])


class _BaseLoss(TrainerCallback):
    """Keeps the untrained model's validation loss: in the run (for resumes) and, if given, in a file
    shared by the runs of a sweep, so it is computed once per sweep rather than once per (α, seed).

    It is measured by the trainer's own evaluation before the first step (``eval_on_start``), not by
    calling ``evaluate()`` before ``train()``: an evaluation first marks the model as prepared by
    accelerate, which then never wraps it in DistributedDataParallel — under a launcher every rank
    would train its own copy, silently.

    That evaluation draws from the random generators (its data loader seeds itself from torch's), and
    a rerun that finds the loss cached skips it: the generators are put back as they were before it,
    so the first step sees the same random state either way and the run ends with the same weights.
    """

    def __init__(self, known: float | None, output: Path, shared: Path | None, key: str, main: bool) -> None:
        self.loss, self.output, self.shared, self.key, self.main = known, output, shared, key, main
        self._before_start_eval: dict | None = None

    def on_train_begin(self, args, state, control, **kwargs):  # noqa: ANN001 (transformers' signature)
        if args.eval_on_start:
            self._before_start_eval = _random_state()

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):  # noqa: ANN001 (transformers' signature)
        from xlr_bench.core.atomic import write_json

        if self._before_start_eval is not None and state.global_step == 0:
            _set_random_state(self._before_start_eval)
            self._before_start_eval = None
        if self.loss is not None or state.global_step != 0 or not metrics or "eval_loss" not in metrics:
            return
        self.loss = metrics["eval_loss"]
        if self.main:  # re-read the shared file: parallel runs of a sweep may have added keys
            write_json(self.output / BASE_EVAL_FILE, {"eval_loss": self.loss})
            if self.shared is not None:
                known = json.loads(self.shared.read_text()) if self.shared.is_file() else {}
                write_json(self.shared, known | {self.key: self.loss})


class _LastCheckpoint(TrainerCallback):
    """The checkpoint at the run's last step holds the weights and trainer state only.

    Nothing ever resumes from it: a rerun finds it finished (``_finished_state``, by the same
    :func:`_at_last_step` that decides here) and takes the best checkpoint's weights. So its optimizer state (AdamW's two moments: 940 MB for me5-small, ~2 s to write
    on 2 cores), schedule and random state are not written; and when it is also the best checkpoint (always
    with one validation per run), transformers' reload of the best weights at the end (~1.7 s) would read
    back the weights in memory, so it is skipped. The trainer reads both flags from its arguments when it
    gets there, after ``on_step_end`` and ``on_save`` of the last step; the model card still marks the
    best step, as sentence-transformers' reload does.
    """

    def on_step_end(self, args, state, control, **kwargs):  # noqa: ANN001 (transformers' signature)
        if _at_last_step(state):
            args.save_only_model = True

    def on_save(self, args, state, control, model=None, **kwargs):  # noqa: ANN001 (transformers' signature)
        best = state.best_model_checkpoint
        if _at_last_step(state) and best and Path(best).name == f"checkpoint-{state.global_step}":
            args.load_best_model_at_end = False
            if model is not None:
                model.model_card_data.set_best_model_step(state.global_step)


def train(config: TrainConfig, output: Path, shared_base_loss: Path | None = None) -> Path:
    """Train, resuming from ``output/checkpoints`` if a previous run was interrupted.

    ``shared_base_loss``: a JSON file where runs sharing base model, data and validation settings keep
    the untrained model's validation loss (the sweep passes one), instead of each computing it.
    """
    from sentence_transformers import SentenceTransformerTrainer, SentenceTransformerTrainingArguments
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

    from transformers.trainer_callback import ProgressCallback

    from xlr_bench.core.atomic import write_json
    from xlr_bench.models.encoder import TRAINING_RECORD, load_checkpoint, resolve_source, weights_hash
    from xlr_bench.training import distributed
    from xlr_bench.training.devices import trainer_device_arguments
    from xlr_bench.training.progress import ReadableProgress

    output = Path(output)
    world = distributed.join()  # a world of one without a launcher
    world.agree("configuration", asdict(config) | {"output": str(output.resolve())})
    _check_config(config, output)
    check_zero_shot(config.train_data, config.eval_tasks, config.allow_eval_overlap)
    data = load_training_data(config.train_data)
    if not data.pairs:
        raise XLRBenchError(f"No training pairs in {', '.join(config.train_data)}.")
    world.agree("training data", {"files": data.checksums, "pairs": len(data.pairs)})
    train_pairs, valid_pairs = split_validation(data.pairs, config.eval_fraction)
    train_pairs = _subsample(train_pairs, config.max_pairs, config.seed)
    world_size = world.size
    # Build the sampler once up front: bad α / data / batch size fail before any model is loaded.
    sampler_factory = _SamplerFactory(train_pairs, valid_pairs, config, world_size)
    probe = sampler_factory(None, config.batch_size, True, seed=config.seed)

    definition, target = resolve_source(config.base)
    base_hash = weights_hash(Path(target)) if Path(target).is_dir() else target
    base_key = _validation_key(config, base_hash, data.checksums, world_size)
    inputs = {"data_checksums": data.checksums, "base_model_hash": base_hash}

    def inspect_run() -> tuple[str | None, bool, str | None]:
        """(why not to go on, finished already, last complete checkpoint): decided by rank 0 for all."""
        try:
            _check_inputs(output, inputs)
            if (output / TRAINING_RECORD).is_file():  # the record is written last
                return None, True, None
            last = _last_complete_checkpoint(output / "checkpoints")
            if last and not _finished_state(last):
                _check_resumable(last, world_size)
            return None, False, last
        except XLRBenchError as exc:
            return str(exc), False, None

    refusal, done, last = world.from_main(inspect_run)
    if refusal:
        raise XLRBenchError(refusal)
    if done:  # re-saving a finished run's model would only risk it
        logging.getLogger(__name__).info("%s is a finished run; nothing to do.", output)
        return output
    # Rank 0 reads the files and tells the others, so that all ranks take the same path.
    known_base_loss = world.from_main(lambda: _known_base_loss(output, shared_base_loss, base_key))
    finished = _finished_state(last)
    # A run killed after its last checkpoint but before its record is complete: take the weights the
    # trainer would have ended with (the best checkpoint) instead of resuming, which trains a step too many.
    model = load_checkpoint(target, definition.name)
    # --max-length bounds training cost only: the checkpoint is scored with the base model's length,
    # so a difference to the base (or between runs) is never a truncation artefact.
    scoring_length = model.max_seq_length
    if finished:
        model = load_checkpoint(str(_best_checkpoint(last, finished)), definition.name)
    model.max_seq_length = config.max_length
    prompts = dict(definition.prompts) or dict(model.prompts or {})
    output.mkdir(parents=True, exist_ok=True)
    if world.main:
        write_json(output / CONFIG_FILE, asdict(config))
        write_json(output / INPUTS_FILE, inputs)

    # Under a launcher, every rank's anchors are scored against all ranks' passages (the paper's batch
    # of 100 can be spread over devices). That keeps the hybrid rule because the sampler gives every
    # rank of a step the same batch type and language and keeps question groups apart across ranks;
    # the batch log below records that it did.
    loss = MultipleNegativesRankingLoss(
        model, scale=config.scale, gather_across_devices=world_size > 1,
        directions=("query_to_doc", "doc_to_query") if config.symmetric else ("query_to_doc",),
    )
    steps_per_epoch = len(probe) // world_size
    total_steps = config.steps or int(config.epochs * steps_per_epoch)
    # Each evaluation + checkpoint costs several steps on CPU: two per run, the second at the last step.
    eval_steps = config.eval_steps or max(1, -(-total_steps // 2))
    args = SentenceTransformerTrainingArguments(
        output_dir=str(output / "checkpoints"),
        max_steps=config.steps or -1,
        num_train_epochs=config.epochs or 1,
        per_device_train_batch_size=config.batch_size,
        per_device_eval_batch_size=config.batch_size,
        learning_rate=config.learning_rate,
        weight_decay=config.weight_decay,
        warmup_steps=config.warmup_ratio,  # a float < 1 is a ratio in transformers v5
        seed=config.seed,
        batch_sampler=sampler_factory,
        prompts={"anchor": prompts.get("query", ""), "positive": prompts.get("document", ""),
                 "negative": prompts.get("document", "")} if prompts else None,
        eval_strategy="steps" if valid_pairs else "no",
        eval_on_start=bool(valid_pairs) and known_base_loss is None and last is None,  # the untrained model's loss
        eval_steps=eval_steps,
        save_strategy="steps",
        save_steps=config.save_steps or eval_steps,
        save_total_limit=2,
        load_best_model_at_end=bool(valid_pairs),
        metric_for_best_model="eval_loss",
        logging_steps=max(1, min(10, total_steps // 10)),
        report_to="none",
        **trainer_device_arguments(config.bf16),  # CPU or this rank's GPU; bf16 where supported; pinned memory
        dataloader_drop_last=True,
        disable_tqdm=False,
    )
    final_weights = distributed.FinalWeights()
    base_loss = _BaseLoss(known_base_loss, output, shared_base_loss, base_key, world.main)
    trainer = SentenceTransformerTrainer(
        model=model, args=args, train_dataset=_dataset(train_pairs, config.hard_negatives, row_numbers=True),
        eval_dataset=_dataset(valid_pairs, config.hard_negatives) if valid_pairs else None, loss=loss,
        callbacks=[final_weights, base_loss, _LastCheckpoint()],
    )
    trainer.remove_callback(ProgressCallback)  # its raw log dicts, replaced by readable lines
    trainer.add_callback(ReadableProgress)
    resumed_step = int(last.rsplit("-", 1)[-1]) if last else 0
    trainer.data_collator = distributed.BatchLog(trainer.data_collator, distributed.batch_log_path(output, world.rank),
                                                 resumed_step)
    if finished:
        trainer.state = finished
    else:
        try:
            trainer.train(resume_from_checkpoint=last)
        except RuntimeError as exc:  # torch's writer on a full disk: "unexpected pos ..."
            if "unexpected pos" not in str(exc) and "PytorchStreamWriter" not in str(exc):
                raise
            raise XLRBenchError(f"Writing a checkpoint under {output} failed ({str(exc).splitlines()[0]}); is the "
                                "disk full? Free space and run the same command again: it resumes from the last "
                                "complete checkpoint.") from exc
    model.max_seq_length = scoring_length
    digests = world.gather(final_weights.digest)  # also waits until every rank has logged its last batch
    if not world.main:
        world.barrier()  # the command ends when rank 0 has written the model and the record
        return output
    _save_final(model, output)
    record = {
        "alpha": config.alpha,
        "seed": config.seed,
        "date": datetime.now(timezone.utc).date().isoformat(),  # the checkpoint's release date in its ModelMeta
        "base_model": definition.name,
        "base_model_hash": base_hash,
        "training_data": config.train_data,
        "data_checksums": data.checksums,
        "pairs": {"train": len(train_pairs), "validation": len(valid_pairs)},
        "steps": trainer.state.global_step,
        "batch_size": config.batch_size,
        "max_length": {"training": config.max_length, "scoring": scoring_length},
        "world_size": world_size,
        "config": asdict(config),
        # The saved model is the best checkpoint (load_best_model_at_end), so its loss is the best one.
        "validation_loss": {"before": base_loss.loss, "after": trainer.state.best_metric},
        "resumed_from_step": resumed_step if last else None,
        "sampler": probe.summary(trainer.state.global_step * world_size),
        # What each rank's data loader really produced, compared across ranks, and each rank's
        # weights after the last optimizer step (None when this process trained no step).
        "ranks": {"world_size": world_size, "gather_across_devices": world_size > 1, "weights_sha256": digests}
        | distributed.compare_ranks(output, world_size, train_pairs, trainer.state.global_step),
        "versions": {pkg: version(pkg) for pkg in ("torch", "transformers", "sentence-transformers", "mteb")}
        | {"python": platform.python_version()},
    }
    write_json(output / TRAINING_RECORD, record)
    world.barrier()
    return output
