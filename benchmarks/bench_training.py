"""Benchmark: the hybrid sampler's cost and our trainer's step time against a plain trainer.

Side by side in one run on the converted me5-small (or --base), the same MLQA-R + AfriQA pairs,
batch size and length:
  * sampler alone: batches/s of HybridBatchSampler.plan, and its share of one training step;
  * step time of `xlr_bench.training.trainer.train` (hybrid sampler) against a plain
    SentenceTransformerTrainer with the default batch sampler (target ratio <= 1.05);
  * peak RSS of training (target reported for batch 32, length 128).

Run: XLR_BENCH_DATA=../shared/data python benchmarks/bench_training.py [--steps 6 --batch-size 32 --max-length 128]
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", default="me5-small")
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-length", type=int, default=128)
    args = parser.parse_args()

    from sentence_transformers import SentenceTransformer, SentenceTransformerTrainer, SentenceTransformerTrainingArguments
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss
    from transformers import TrainerCallback

    from xlr_bench.models.encoder import resolve_source
    from xlr_bench.training.sampler import HybridBatchSampler
    from xlr_bench.training.trainer import TrainConfig, _dataset, train
    from xlr_bench.training.pairs import load_training_data

    pairs = load_training_data(["mlqa-r", "afriqa"]).pairs
    sampler = HybridBatchSampler(None, args.batch_size, True, seed=0, pairs=pairs, alpha=0.5)
    start = time.perf_counter()
    n_batches = len(sampler.plan(0))
    sampler_rate = n_batches / (time.perf_counter() - start)

    class StepTimer(TrainerCallback):
        def __init__(self) -> None:
            self.times: list[float] = []

        def on_step_begin(self, *_, **__) -> None:
            self.t = time.perf_counter()

        def on_step_end(self, *_, **__) -> None:
            self.times.append(time.perf_counter() - self.t)

    def steady(times: list[float]) -> float:
        return sum(times[2:]) / max(1, len(times[2:]))  # skip warm-up steps

    timer = StepTimer()
    original_init = SentenceTransformerTrainer.__init__

    def with_timer(self, *a, **kw) -> None:
        original_init(self, *a, **kw)
        self.add_callback(timer)

    SentenceTransformerTrainer.__init__ = with_timer
    with tempfile.TemporaryDirectory() as tmp:
        config = TrainConfig(base=args.base, train_data=["mlqa-r", "afriqa"], alpha=0.5, steps=args.steps,
                             batch_size=args.batch_size, max_length=args.max_length, eval_fraction=0.0,
                             eval_steps=10_000, save_steps=10_000, eval_tasks=[])
        train(config, Path(tmp) / "ours")
        ours = steady(timer.times)

        timer.times = []
        definition, target = resolve_source(args.base)
        model = SentenceTransformer(target)
        model.max_seq_length = args.max_length
        plain = SentenceTransformerTrainer(
            model=model,
            args=SentenceTransformerTrainingArguments(output_dir=str(Path(tmp) / "plain"), max_steps=args.steps,
                                                      per_device_train_batch_size=args.batch_size, learning_rate=3e-5,
                                                      report_to="none", save_strategy="no", seed=0,
                                                      prompts={"anchor": "query: ", "positive": "passage: "}),
            train_dataset=_dataset(pairs[: 20 * args.batch_size * args.steps], False),
            loss=MultipleNegativesRankingLoss(model),
        )
        plain.train()
        plain_step = steady(timer.times)
    SentenceTransformerTrainer.__init__ = original_init
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"pairs: {len(pairs)}, batch {args.batch_size}, length {args.max_length}, steps {args.steps} (first 2 skipped)")
    print(f"sampler alone        : {sampler_rate:,.0f} batches/s -> {1 / sampler_rate * 1000:.2f} ms per batch, "
          f"{(1 / sampler_rate) / ours * 100:.3f}% of a training step (target < 1%)")
    print(f"step time, ours      : {ours:.2f} s")
    print(f"step time, plain ST  : {plain_step:.2f} s   ratio ours/plain {ours / plain_step:.3f} (target <= 1.05)")
    print(f"peak RSS of the run  : {peak:,.0f} MB")


if __name__ == "__main__":
    main()
