"""The hybrid batch sampler of arXiv 2408.10536, as a sentence-transformers batch sampler.

Each training step draws its batch type: monolingual with probability α (every row q_X -> p_X of
one language X) or cross-lingual with probability 1 - α (every row has X != Y). The source
dataset of a step is drawn in proportion to its number of pairs of that type (the paper's "sampled
based on dataset size"). Options:

* ``language_sampling``: the language of a monolingual batch is drawn ``uniform``-ly or in
  proportion to its pair count (``size``);
* ``cross_mode``: ``batch`` draws one ordered pair (X, Y) per batch, ``row`` lets every row
  have its own X != Y (the paper's cross-lingual batches mix pairs; ``row`` is the default).

No two rows of a batch share a question group (parallel versions of one question would be false
in-batch negatives). Rows are drawn without replacement from per-pool permutations that are
reshuffled when exhausted, so an epoch of ``len(rows) // batch_size`` batches touches rows evenly.

Determinism: the batches of an epoch are a pure function of (seed, epoch), so a run resumed from a
checkpoint (the HF trainer replays and skips the consumed batches) sees exactly the batches of an
uninterrupted run. Under DDP, ``world_size`` consecutive batches (one per rank, as accelerate deals
them) share one type and language, so all ranks agree on the batch type, and each rank gets
distinct rows.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from sentence_transformers.base.sampler import DefaultBatchSampler

from xlr_bench.core.errors import XLRBenchError
from xlr_bench.training.pairs import Pair


@dataclass(frozen=True)
class PlannedBatch:
    """One batch: its rows and what kind of batch it is."""

    indices: list[int]
    monolingual: bool
    source: str
    key: str  # language ("de") for monolingual batches, pair ("de-en") or "mixed" for cross-lingual


class _Pool:
    """Row indices of one (source, type, language/pair) drawn without replacement, cycling."""

    def __init__(self, indices: list[int], rng: np.random.Generator) -> None:
        self.indices = np.asarray(indices)
        self.rng = rng
        self.order: list[int] = []

    def draw(self, n: int, groups: Sequence[str], taken: set[str]) -> list[int]:
        batch: list[int] = []
        skipped: list[int] = []
        refills = 0
        while len(batch) < n:
            if not self.order:
                if refills == 2:
                    break
                self.order = self.rng.permutation(self.indices).tolist()
                refills += 1
            i = self.order.pop()
            if groups[i] in taken:
                skipped.append(i)
                continue
            taken.add(groups[i])
            batch.append(i)
        self.order.extend(reversed(skipped))  # put back rows skipped for a duplicate group
        return batch


class HybridBatchSampler(DefaultBatchSampler):
    """Monolingual batches with probability ``alpha``, cross-lingual otherwise (see module doc)."""

    def __init__(
        self,
        dataset: Sequence | None,
        batch_size: int,
        drop_last: bool = True,
        valid_label_columns: list[str] | None = None,
        generator: object | None = None,
        seed: int = 0,
        *,
        pairs: Sequence[Pair],
        alpha: float,
        language_sampling: str = "uniform",
        cross_mode: str = "row",
        world_size: int = 1,
    ) -> None:
        super().__init__(dataset if dataset is not None else pairs, batch_size, drop_last,
                         valid_label_columns, None, seed)
        if not 0.0 <= alpha <= 1.0:
            raise XLRBenchError(f"alpha (the monolingual share) must be in [0, 1], got {alpha}.")
        if language_sampling not in ("uniform", "size"):
            raise XLRBenchError(f"language_sampling must be 'uniform' or 'size', got {language_sampling!r}.")
        if cross_mode not in ("row", "batch"):
            raise XLRBenchError(f"cross_mode must be 'row' or 'batch', got {cross_mode!r}.")
        self.pairs = pairs
        self.alpha = alpha
        self.language_sampling = language_sampling
        self.cross_mode = cross_mode
        self.world_size = world_size
        self.groups = [p.group for p in pairs]
        self._mono: dict[str, dict[str, list[int]]] = {}
        self._cross: dict[str, dict[str, list[int]]] = {}
        for i, pair in enumerate(pairs):
            if pair.monolingual:
                self._mono.setdefault(pair.source, {}).setdefault(pair.lang_q, []).append(i)
            else:
                key = f"{pair.lang_q}-{pair.lang_p}" if cross_mode == "batch" else "mixed"
                self._cross.setdefault(pair.source, {}).setdefault(key, []).append(i)
        if alpha > 0 and not self._mono:
            raise XLRBenchError(f"alpha = {alpha} asks for monolingual batches, but the data has no monolingual pairs.")
        if alpha < 1 and not self._cross:
            raise XLRBenchError(f"alpha = {alpha} asks for cross-lingual batches, but the data has no cross-lingual pairs.")
        n_groups = len(set(self.groups))
        if batch_size * world_size > n_groups:  # the ranks of a step hold distinct questions
            ranks = f" × {world_size} ranks" if world_size > 1 else ""
            raise XLRBenchError(f"batch size {batch_size}{ranks} exceeds the {n_groups} distinct questions in the data.")
        self.steps_per_epoch = max(1, len(pairs) // (batch_size * world_size)) * world_size

    def __len__(self) -> int:
        return self.steps_per_epoch

    def plan(self, epoch: int) -> list[PlannedBatch]:
        """The batches of one epoch, a pure function of (seed, epoch)."""
        rng = np.random.default_rng([self.seed, epoch])
        pools: dict[tuple[str, bool, str], _Pool] = {}
        batches: list[PlannedBatch] = []
        while len(batches) < self.steps_per_epoch:
            monolingual = bool(rng.random() < self.alpha)
            table = self._mono if monolingual else self._cross
            sources = sorted(table)
            sizes = np.array([sum(len(v) for v in table[s].values()) for s in sources], dtype=float)
            source = sources[rng.choice(len(sources), p=sizes / sizes.sum())]
            keys = sorted(table[source])
            weights = np.array([len(table[source][k]) for k in keys], dtype=float)
            if monolingual and self.language_sampling == "uniform" or not monolingual and self.cross_mode == "batch":
                weights = np.ones(len(keys))
            key = keys[rng.choice(len(keys), p=weights / weights.sum())]
            pool_key = (source, monolingual, key)
            if pool_key not in pools:
                pools[pool_key] = _Pool(table[source][key], rng)
            taken: set[str] = set()  # groups are kept apart across the ranks of one step too
            for _ in range(self.world_size):
                rows = pools[pool_key].draw(self.batch_size, self.groups, taken)
                batches.append(PlannedBatch(rows, monolingual, source, key))
        return batches

    def __iter__(self) -> Iterator[list[int]]:
        # A batch is short only when its pool cannot fill it without repeating a question group.
        for batch in self.plan(self.epoch):
            yield batch.indices

    def summary(self, n_batches: int) -> dict[str, object]:
        """What the first ``n_batches`` batches of training really were (for the training record)."""
        planned: list[PlannedBatch] = []
        epoch = 0
        while len(planned) < n_batches:
            planned += self.plan(epoch)
            epoch += 1
        planned = planned[:n_batches]
        mono = [b for b in planned if b.monolingual]
        pair_hist = Counter(f"{self.pairs[i].lang_q}-{self.pairs[i].lang_p}" for b in planned for i in b.indices)
        return {
            "batches": len(planned),
            "monolingual_share": len(mono) / len(planned) if planned else 0.0,
            "monolingual_languages": dict(sorted(Counter(b.key for b in mono).items())),
            "sources": dict(sorted(Counter(b.source for b in planned).items())),
            "row_pairs": dict(sorted(pair_hist.items())),
        }
