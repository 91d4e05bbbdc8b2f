"""Register xlr-bench's tasks into mteb's registries: the one place that touches mteb internals.

mteb has no plugin entry points; its task lookup (``mteb.get_task``, ``mteb.get_tasks``, the
``mteb run`` CLI) reads ``mteb.get_tasks._TASKS_REGISTRY`` and ``TASK_LIST``. Adding our classes
there once, at ``import xlr_bench``, makes them first-class mteb tasks; the XLR suite is added to
mteb's benchmark registry the same way (``mteb.get_benchmark("XLR")``).
"""

from __future__ import annotations

import importlib

from mteb.abstasks import AbsTask
from mteb.benchmarks.benchmark import Benchmark
from mteb.models import ModelMeta

# ``mteb.get_tasks`` the attribute is the function; the module holding the registry is this one.
mteb_get_tasks = importlib.import_module("mteb.get_tasks")
mteb_tasks = importlib.import_module("mteb.tasks")
mteb_benchmarks = importlib.import_module("mteb.benchmarks.benchmarks")
mteb_get_benchmark = importlib.import_module("mteb.benchmarks.get_benchmark")

from xlr_bench.core.errors import XLRBenchError


def register_models(metas: list[ModelMeta]) -> None:
    """Add model metadata to mteb's model registry so ``mteb.get_model(name)`` loads them."""
    from mteb.models.model_implementations import MODEL_REGISTRY

    for meta in metas:
        MODEL_REGISTRY[meta.name] = meta


def register_tasks(classes: list[type[AbsTask]]) -> None:
    """Add task classes to mteb (idempotent for the same class; a foreign name clash is an error)."""
    added = []
    for cls in classes:
        name = cls.metadata.name
        existing = mteb_get_tasks._TASKS_REGISTRY.get(name)
        if existing is not None and getattr(existing, "definition", None) is None:
            raise XLRBenchError(f"Task name {name!r} already belongs to an mteb task; rename the definition.")
        mteb_get_tasks._TASKS_REGISTRY[name] = cls
        setattr(mteb_tasks, name, cls)
        added.append(cls)
        for parent in cls.metadata.adapted_from or []:
            similar = mteb_get_tasks._SIMILAR_TASKS.setdefault(parent, [])
            if name not in similar:
                similar.append(name)
    names = {c.metadata.name for c in added}
    mteb_get_tasks.TASK_LIST = tuple(t for t in mteb_get_tasks.TASK_LIST if t.metadata.name not in names) + tuple(added)


def register_benchmark(benchmark: Benchmark) -> Benchmark:
    """Make ``mteb.get_benchmark(benchmark.name)`` find ``benchmark``.

    mteb builds its benchmark registry (cached) from the ``Benchmark`` objects in the module
    ``mteb.benchmarks.benchmarks``; adding ours there and dropping the cache is all it takes.
    """
    existing = getattr(mteb_benchmarks, benchmark.name, None)
    if existing is None and benchmark.name in mteb_get_benchmark._build_registry():
        raise XLRBenchError(f"Benchmark name {benchmark.name!r} already belongs to mteb; rename ours.")
    setattr(mteb_benchmarks, benchmark.name, benchmark)
    mteb_get_benchmark._build_registry.cache_clear()
    mteb_get_benchmark._build_aliases_registry.cache_clear()
    return benchmark
