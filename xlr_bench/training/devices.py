"""Which device and precision a training process uses, decided in one place so that the same command
runs unchanged on a CPU, one GPU, or one GPU per rank under a launcher.

* CPU: transformers needs ``use_cpu`` for bf16 autocast there; pinned memory only costs a warning.
* CUDA: the trainer's device (each rank's ``LOCAL_RANK`` GPU, set by
  :func:`xlr_bench.training.distributed.join`), bf16 autocast only where the GPU has bf16 (compute
  capability 8.0+: A100, H100, ...; a V100 or T4 is refused with a clear message rather than
  failing inside the first step), and pinned host memory so that batch copies to the GPU overlap.
* ``--batch-size`` is per device; under a launcher the step's batch is batch size × ranks (the
  training record states both), and in-batch negatives span all of it.
"""

from __future__ import annotations

from typing import Any

from xlr_bench.core.errors import XLRBenchError


def trainer_device_arguments(bf16: bool, cuda: bool | None = None, cuda_bf16: bool | None = None) -> dict[str, Any]:
    """``SentenceTransformerTrainingArguments`` keywords for this machine (``cuda``/``cuda_bf16``:
    what torch reports, unless given)."""
    import torch

    cuda = torch.cuda.is_available() if cuda is None else cuda
    if cuda and bf16:
        cuda_bf16 = torch.cuda.is_bf16_supported() if cuda_bf16 is None else cuda_bf16
        if not cuda_bf16:
            raise XLRBenchError("--bf16: this GPU has no bf16 support (it needs compute capability 8.0 or newer, "
                                "e.g. A100/H100); train without --bf16 here.")
    return {"use_cpu": not cuda, "bf16": bf16, "dataloader_pin_memory": cuda}


def bf16_training_pays(jobs_elsewhere: bool = False) -> tuple[bool, str]:
    """``(use bf16 autocast, why)`` for a training process on this machine (the quick preset's choice).

    Measured (benchmarks/README.md): bf16 autocast trains 1.9x faster than fp32 on CPU cores with bf16
    units (AMX) and 5.7x *slower* on AVX2-only cores; GPUs with bf16 (compute capability 8.0+) gain.
    Jobs that run on other machines (Slurm) get fp32: their devices are not known here.
    """
    if jobs_elsewhere:
        return False, "jobs run on other machines; --bf16-train chooses for them"
    import torch

    from xlr_bench.models.encoder import cpu_flags_have_bf16

    if torch.cuda.is_available():
        if torch.cuda.is_bf16_supported():
            return True, "a GPU with bf16"
        return False, "this GPU has no bf16"
    if cpu_flags_have_bf16():
        return True, "this CPU has bf16 units"
    return False, "this CPU has no bf16 units (bf16 autocast would be 5.7x slower)"


class GpuPool:
    """GPUs of this machine handed to parallel local jobs, ``per_gpu`` jobs on each, so that they do not all
    share GPU 0.

    One job per GPU is the default; a small model (me5-small trains at batch 16 in a few GB) leaves most of
    a large GPU idle, so ``--max-parallel`` above the GPU count puts ``ceil(max_parallel / GPUs)`` jobs on
    each, filling the least-loaded GPU first.
    """

    def __init__(self, count: int, per_gpu: int = 1) -> None:
        if per_gpu < 1:
            raise ValueError(f"per_gpu must be at least 1, got {per_gpu}")
        self.load = dict.fromkeys(range(count), 0)
        self.per_gpu = per_gpu
        self.held: dict[str, int] = {}

    def take(self, job: str) -> int | None:
        """A GPU with a free slot for ``job`` (None on a machine without GPUs, or with every slot taken)."""
        free = [gpu for gpu, jobs in self.load.items() if jobs < self.per_gpu]
        if not free:
            return None
        gpu = min(free, key=lambda g: (self.load[g], g))
        self.load[gpu] += 1
        self.held[job] = gpu
        return gpu

    def give_back(self, job: str) -> None:
        if job in self.held:
            self.load[self.held.pop(job)] -= 1
