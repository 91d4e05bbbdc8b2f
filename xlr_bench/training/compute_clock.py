"""Seconds a phase spends in model forward and backward passes.

The fast-path target (issue 16) is about the share of a sweep's wall time *outside* forward/backward:
tokenisation, batching, optimiser steps, checkpoints, metric computation, result files. That share
can only be read from inside the process, so the sweep times every phase with this clock and writes
forward / backward seconds beside the wall time in ``timings.jsonl`` (the benchmark
``benchmarks/bench_sweep_phases.py`` reads them from there). Forward = time inside
``SentenceTransformer.forward`` (training and encoding alike); backward = inside ``Tensor.backward``
(what the trainer's loss.backward() calls). The patch lives only while a phase runs.

On a GPU, kernels run asynchronously: a forward call returns once its kernels are queued, and the wait
for them lands wherever the result is next read (``.cpu()``, ``loss.item()``), i.e. outside the clock.
So the clock waits for the GPU (``torch.cuda.synchronize``) before it stops, and the seconds are the
passes' GPU work, not their launch time. That wait costs little: the caller reads the result next anyway.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass
class ComputeTime:
    """Seconds in forward and backward passes during one ``compute_time()`` block."""

    forward: float = 0.0
    backward: float = 0.0


@contextmanager
def compute_time() -> Iterator[ComputeTime]:
    """Count forward/backward seconds while the block runs; the totals are final once it exits."""
    import torch
    from sentence_transformers import SentenceTransformer

    spent = ComputeTime()
    forward, backward = SentenceTransformer.forward, torch.Tensor.backward
    depth = 0

    def settle() -> None:  # queued GPU work belongs to the pass that queued it
        if torch.cuda.is_available() and torch.cuda.is_initialized():
            torch.cuda.synchronize()

    def timed_forward(model, *args, **kwargs):
        nonlocal depth
        depth += 1
        started = time.perf_counter()
        try:
            return forward(model, *args, **kwargs)
        finally:
            depth -= 1
            if depth == 0:  # a nested forward (a module calling the model again) is inside the outer one's time
                settle()
                spent.forward += time.perf_counter() - started

    def timed_backward(tensor, *args, **kwargs):
        started = time.perf_counter()
        try:
            return backward(tensor, *args, **kwargs)
        finally:
            settle()
            spent.backward += time.perf_counter() - started

    SentenceTransformer.forward, torch.Tensor.backward = timed_forward, timed_backward
    try:
        yield spent
    finally:
        SentenceTransformer.forward, torch.Tensor.backward = forward, backward
