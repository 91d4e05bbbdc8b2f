"""``xlr-bench`` as a launcher's training script, with what tests/test_distributed.py needs to watch.

Run under ``torchrun`` / ``accelerate launch`` in place of ``-m xlr_bench.cli``; the arguments are the
CLI's. Environment switches (all optional):

* ``XLR_TEST_WRITES=DIR``: every JSON file the package writes is listed in ``DIR/rank-R.txt``
  (so a test can see that the training record is written once, by rank 0);
* ``XLR_TEST_KILL_AT_STEP=N``: rank 1 is killed (SIGKILL) while computing step N + 1, as a node
  failure would; the launcher then stops the other ranks;
* ``XLR_TEST_SEED_PER_RANK=1``: each rank is given ``--seed 42 + RANK``, as a broken per-rank launch
  script would.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

RANK = int(os.environ.get("RANK", "0"))

if os.environ.get("XLR_TEST_WRITES"):
    from xlr_bench.core import atomic

    original_write_json = atomic.write_json

    def listed_write_json(path, data):  # noqa: ANN001
        with open(Path(os.environ["XLR_TEST_WRITES"]) / f"rank-{RANK}.txt", "a", encoding="utf-8") as handle:
            handle.write(f"{Path(path).name}\n")
        original_write_json(path, data)

    atomic.write_json = listed_write_json

if os.environ.get("XLR_TEST_KILL_AT_STEP") and RANK == 1:
    from sentence_transformers import SentenceTransformerTrainer

    kill_at = int(os.environ["XLR_TEST_KILL_AT_STEP"])
    original_compute_loss = SentenceTransformerTrainer.compute_loss

    def killed_compute_loss(self, model, *args, **kwargs):  # noqa: ANN001
        if model.training and self.state.global_step == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)
        return original_compute_loss(self, model, *args, **kwargs)

    SentenceTransformerTrainer.compute_loss = killed_compute_loss

if os.environ.get("XLR_TEST_SEED_PER_RANK"):
    sys.argv += ["--seed", str(42 + RANK)]

from xlr_bench.cli import main  # noqa: E402 (after the patches above)

main(prog_name="xlr-bench")
