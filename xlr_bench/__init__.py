"""xlr-bench: cross-lingual and low-resource retrieval tasks, models and hybrid-batch training for MTEB.

Importing the package registers every task definition (``tasks/*.toml``) as an mteb task, so
``mteb.get_task("XQuADRRetrieval")`` works after ``import xlr_bench``.
"""

from __future__ import annotations

from xlr_bench.mteb_registry import register_tasks
from xlr_bench.task_definitions import load_definitions
from xlr_bench.task_factory import build_task_class

__version__ = "0.1.0"


def register_all() -> list[str]:
    """(Re-)register every task definition with mteb; returns the task names."""
    classes = [build_task_class(d) for d in load_definitions().values()]
    register_tasks(classes)
    return [c.metadata.name for c in classes]


TASK_NAMES = register_all()
