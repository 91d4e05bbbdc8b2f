"""xlr-bench: cross-lingual and low-resource retrieval tasks, models and hybrid-batch training for MTEB.

Importing the package registers every task definition (``tasks/*.toml``) as an mteb task, so
``mteb.get_task("XQuADRRetrieval")`` works after ``import xlr_bench``.
"""

from __future__ import annotations

from xlr_bench.core.mteb_registry import register_models, register_tasks
from xlr_bench.definitions.tasks import load_definitions
from xlr_bench.tasks.factory import build_task_class

__version__ = "0.1.0"


def register_all() -> list[str]:
    """(Re-)register every task and model definition with mteb; returns the task names."""
    from xlr_bench.models.encoder import registry_meta
    from xlr_bench.definitions.models import load_model_definitions

    classes = [build_task_class(d) for d in load_definitions().values()]
    register_tasks(classes)
    register_models([registry_meta(d) for d in load_model_definitions().values()])
    return [c.metadata.name for c in classes]


TASK_NAMES = register_all()
from xlr_bench.tasks.benchmark import XLR  # noqa: E402  (the suite; importing it registers mteb.get_benchmark("XLR"))
