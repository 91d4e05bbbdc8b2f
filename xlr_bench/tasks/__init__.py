"""Tasks: definitions and data turned into mteb retrieval tasks that rank the whole corpus.

One loader per data format (``lareqa``, ``afriqa``, ``beir``) over a shared full-ranking base; the
factory builds a task class from a definition; ``benchmark`` groups the suites as mteb's ``XLR`` and
``XLR-MIRACL``; ``quality`` states mteb's task checks; ``hf_export`` writes and reads tasks as Hugging
Face datasets; ``translate_beir`` makes new low-resource BEIR tasks by machine translation."""

from xlr_bench.tasks.factory import LOADERS, build_task_class
from xlr_bench.tasks.full_rank import FullRankRetrieval

__all__ = ["LOADERS", "FullRankRetrieval", "build_task_class"]
