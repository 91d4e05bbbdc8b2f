"""Benchmark: what a training run's checkpoints cost, with the slim last checkpoint and without it.

The quick job's training (converted me5-small, 5 steps x batch 16, length 128, one validation and
checkpoint at the last step) run alternately with ``xlr_bench.training.trainer._LastCheckpoint`` as it
is and with it switched off (the trainer's defaults: optimizer, schedule and random state in every
checkpoint, the best weights read back at the end), in one process. Per run it reports the seconds in
transformers' ``_save_checkpoint`` and in the reload of the best model, the bytes left in the
checkpoint folder and the run's wall time. The runs share the untrained model's validation loss (the
first run computes it, as the first run of a sweep does), so the first run's wall time is the longest.

Run: XLR_BENCH_DATA=../shared/data HF_HUB_OFFLINE=1 python benchmarks/bench_checkpoints.py [--rounds 2]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections import defaultdict
from contextlib import ExitStack
from pathlib import Path
from unittest import mock

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def _timed(target: type, name: str, clock: dict[str, float]):
    """Patch ``target.name`` to add its wall time to ``clock[name]``."""
    original = getattr(target, name)

    def timed(self, *args, **kwargs):
        start = time.perf_counter()
        try:
            return original(self, *args, **kwargs)
        finally:
            clock[name] += time.perf_counter() - start

    return mock.patch.object(target, name, timed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", default="me5-small")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--steps", type=int, default=5)
    args = parser.parse_args()

    from sentence_transformers import SentenceTransformerTrainer
    from transformers import Trainer

    from xlr_bench.training.trainer import TrainConfig, _LastCheckpoint, train

    config = TrainConfig(base=args.base, alpha=0.5, steps=args.steps, batch_size=16, max_length=128,
                         eval_steps=args.steps)
    work = Path(tempfile.mkdtemp(prefix="bench-checkpoints-"))
    shared = work / "base_loss.json"
    rows = []
    for round_ in range(args.rounds):
        for variant in ("trainer defaults", "slim last checkpoint"):
            clock: dict[str, float] = defaultdict(float)
            output = work / f"{round_}-{variant.replace(' ', '-')}"
            with ExitStack() as stack:
                stack.enter_context(_timed(Trainer, "_save_checkpoint", clock))
                stack.enter_context(_timed(SentenceTransformerTrainer, "_load_best_model", clock))
                if variant == "trainer defaults":
                    for hook in ("on_step_end", "on_save"):
                        stack.enter_context(mock.patch.object(_LastCheckpoint, hook, lambda self, *a, **k: None))
                start = time.perf_counter()
                train(config, output, shared_base_loss=shared)
                wall = time.perf_counter() - start
            size = sum(p.stat().st_size for p in (output / "checkpoints").rglob("*") if p.is_file())
            rows.append((round_ + 1, variant, clock["_save_checkpoint"], clock["_load_best_model"], size / 1e6, wall))
            print(f"round {round_ + 1}, {variant}: checkpoint {rows[-1][2]:.2f} s, reload {rows[-1][3]:.2f} s, "
                  f"{rows[-1][4]:.0f} MB, run {wall:.1f} s", flush=True)

    print("\n| round | variant | checkpoint s | reload best s | checkpoint MB | run wall s |")
    print("|---|---|---|---|---|---|")
    for round_, variant, save, load, mb, wall in rows:
        print(f"| {round_} | {variant} | {save:.2f} | {load:.2f} | {mb:.0f} | {wall:.1f} |")


if __name__ == "__main__":
    main()
