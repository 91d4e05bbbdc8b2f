"""Training under a launcher (``torchrun``, ``accelerate launch``): one process per device.

The engines do the heavy lifting — torch.distributed joins the processes, accelerate deals batch
``i`` of the batch sampler to rank ``i % world_size``, DDP keeps the weights in sync,
sentence-transformers' ``gather_across_devices`` shares in-batch negatives. What this module adds
is what a hybrid-batch run needs on top, and why:

* :func:`join` enters the launcher's process group before anything else, so the ranks can compare
  notes while a disagreement is still cheap;
* :meth:`World.agree` refuses a launch whose ranks disagree on the configuration or the data (a
  per-rank script, another data folder on one node), naming the field — otherwise they would train
  on different things, or hang in a collective;
* :meth:`World.from_main` makes a decision that touches shared files (which checkpoint to resume,
  whether the untrained model's loss is known) on rank 0 only and hands it to every rank, so the
  ranks never take different paths through collective code;
* :class:`BatchLog` records which rows each rank's data loader *really* produced at every step, and
  :func:`compare_ranks` turns the ranks' logs into the training record's evidence that every rank
  drew the same batch type and language and disjoint question groups at every step — which is what
  makes a gathered "monolingual" batch monolingual across all ranks;
* :class:`FinalWeights` fingerprints each rank's weights after the last optimizer step (before the
  best checkpoint is reloaded from disk), so the record shows that the ranks ended in sync.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from transformers import TrainerCallback

from xlr_bench.core.atomic import atomic_open
from xlr_bench.core.errors import XLRBenchError
from xlr_bench.training.pairs import Pair

ROW_COLUMN = "xlr_bench_row"  # training dataset column: the row's index into the training pairs
BATCH_LOG_DIR = "batches"  # OUTPUT/batches/rank-R.jsonl: {"step": n, "rows": [...]} per training step

T = TypeVar("T")


@dataclass(frozen=True)
class World:
    """This process's place in the launch: rank, number of ranks, device index on its node."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0

    def gather(self, value: T) -> list[T]:
        """Every rank's ``value`` (picklable), on every rank, in rank order."""
        if self.size == 1:
            return [value]
        import torch.distributed as dist

        out: list[Any] = [None] * self.size
        dist.all_gather_object(out, value)
        return out

    def from_main(self, decide: Callable[[], T]) -> T:
        """Run ``decide`` on rank 0 only and return its answer on every rank."""
        value = decide() if self.main else None
        if self.size > 1:
            import torch.distributed as dist

            box = [value]
            dist.broadcast_object_list(box, src=0)
            value = box[0]
        return value

    def barrier(self) -> None:
        if self.size > 1:
            import torch.distributed as dist

            dist.barrier()

    def agree(self, what: str, facts: dict[str, Any]) -> None:
        """Refuse (on every rank, with the same message) unless all ranks hold the same ``facts``."""
        everyone = self.gather(json.loads(json.dumps(facts, sort_keys=True, default=str)))
        reference = everyone[0]
        for rank, other in enumerate(everyone[1:], 1):
            for name in sorted(set(reference) | set(other)):
                if reference.get(name) != other.get(name):
                    raise XLRBenchError(
                        f"The ranks of this launch disagree on the {what}: {name} is {reference.get(name)!r} on rank 0 "
                        f"but {other.get(name)!r} on rank {rank}. Launch every rank with the same command, data and code."
                    )


def join() -> World:
    """Join the process group the launcher describes (``WORLD_SIZE``, ``RANK``, ``MASTER_ADDR`` ...).

    NCCL on GPUs (each rank on the GPU of its ``LOCAL_RANK``), gloo on CPU. accelerate and the
    transformers trainer adopt the group instead of creating their own. Without a launcher this is
    a world of one and nothing is initialised.
    """
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return World()
    import torch
    import torch.distributed as dist

    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if not dist.is_initialized():
        if torch.cuda.is_available():
            torch.cuda.set_device(local_rank)
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return World(dist.get_rank(), dist.get_world_size(), local_rank)


class BatchLog:
    """The trainer's data collator, wrapped: takes the row-index column off each training batch and
    appends ``{"step", "rows"}`` to this rank's log before the real collator tokenises the texts.

    Steps are counted from the step the run resumes at; the trainer skips the batches of earlier
    steps without collating them. Needs ``dataloader_num_workers=0`` (the trainer's default): the
    collator then runs in this process, in batch order. Evaluation batches carry no row column and
    pass through unlogged.
    """

    def __init__(self, collator: Any, path: Path, resumed_step: int) -> None:
        self.collator, self.path, self.step = collator, path, resumed_step
        path.parent.mkdir(parents=True, exist_ok=True)
        kept = [line for line in _read_lines(path) if line["step"] <= resumed_step]
        with atomic_open(path, "w", encoding="utf-8") as handle:  # drop steps a killed run did not checkpoint
            handle.writelines(json.dumps(line) + "\n" for line in kept)

    def __getattr__(self, name: str) -> Any:
        # The trainer reads the collator's settings (valid_label_columns, ...): those of the real one.
        if name == "collator":
            raise AttributeError(name)
        return getattr(self.collator, name)

    def __call__(self, features: list[dict[str, Any]]) -> dict[str, Any]:
        if features and ROW_COLUMN in features[0]:
            rows = [int(f.pop(ROW_COLUMN)) for f in features]
            self.step += 1
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps({"step": self.step, "rows": rows}) + "\n")
        return self.collator(features)


def batch_log_path(output: Path, rank: int) -> Path:
    return output / BATCH_LOG_DIR / f"rank-{rank}.jsonl"


def _read_lines(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    lines = []
    for text in path.read_text(encoding="utf-8").splitlines():
        try:
            lines.append(json.loads(text))
        except json.JSONDecodeError:  # the last line of a killed process may be cut short
            break
    return lines


def batch_kind(pairs: Sequence[Pair]) -> str:
    """``mono:<lang>`` (every row X→X of one language), ``cross`` (every row X≠Y) or ``mixed``."""
    if all(p.monolingual for p in pairs) and len({p.lang_q for p in pairs}) == 1:
        return f"mono:{pairs[0].lang_q}"
    return "cross" if not any(p.monolingual for p in pairs) else "mixed"


def compare_ranks(output: Path, size: int, pairs: Sequence[Pair], last_step: int) -> dict[str, Any]:
    """What every rank trained on at each step, read from the ranks' batch logs, compared.

    ``batch_kinds`` has one entry per logged step: the kind all ranks shared, or ``a | b`` when they
    did not. ``steps_sharing_questions`` lists steps where two ranks held rows of one question
    group — with gathered negatives those would be false negatives.
    """
    logs = [{line["step"]: line["rows"] for line in _read_lines(batch_log_path(output, r))} for r in range(size)]
    steps = sorted(set.intersection(*(set(log) for log in logs)) & set(range(1, last_step + 1)))
    kinds, disagree, sharing = [], [], []
    for step in steps:
        per_rank = [batch_kind([pairs[i] for i in log[step]]) for log in logs]
        if len(set(per_rank)) == 1 and per_rank[0] != "mixed":
            kinds.append(per_rank[0])
        else:
            kinds.append(" | ".join(per_rank))
            disagree.append(step)
        groups = [{pairs[i].group for i in log[step]} for log in logs]
        if sum(len(g) for g in groups) != len(set().union(*groups)):
            sharing.append(step)
    return {"steps_logged": len(steps), "first_step_logged": steps[0] if steps else None,
            "batch_kinds": kinds, "disagreeing_steps": disagree, "steps_sharing_questions": sharing}


def weights_digest(model: Any) -> str:
    """sha256 (16 hex digits) over the model's parameters and buffers, in state-dict order."""
    import torch

    digest = hashlib.sha256()
    for name, tensor in model.state_dict().items():
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()[:16]


class FinalWeights(TrainerCallback):
    """Fingerprints the weights right after the last optimizer step, on each rank."""

    def __init__(self) -> None:
        self.digest: str | None = None

    def on_step_end(self, args, state, control, model=None, **kwargs):  # noqa: ANN001 (transformers' signature)
        if state.max_steps and state.global_step >= state.max_steps and model is not None:
            self.digest = weights_digest(model)
