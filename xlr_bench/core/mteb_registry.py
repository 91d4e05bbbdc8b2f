"""Register xlr-bench's tasks, models and benchmarks into mteb's registries.

mteb has no plugin entry points; its task lookup (``mteb.get_task``, ``mteb.get_tasks``, the
``mteb run`` CLI) reads a registry dictionary and a task list. Adding our classes there once, at
``import xlr_bench``, makes them first-class mteb tasks; the XLR suites are added to mteb's benchmark
registry the same way (``mteb.get_benchmark("XLR")``). The private names involved are reached through
:mod:`xlr_bench.core.mteb_adapter` only.
"""

from __future__ import annotations

import importlib

from mteb.abstasks import AbsTask
from mteb.benchmarks.benchmark import Benchmark
from mteb.models import ModelMeta

from xlr_bench.core import mteb_adapter
from xlr_bench.core.errors import XLRBenchError


def register_models(metas: list[ModelMeta]) -> None:
    """Add model metadata to mteb's model registry so ``mteb.get_model(name)`` loads them."""
    registry = mteb_adapter.model_registry()
    for meta in metas:
        registry[meta.name] = meta


def is_mteb_task(name: str) -> bool:
    """Whether ``name`` belongs to one of mteb's own tasks (not one registered from a definition)."""
    existing = mteb_adapter.task_registry().get(name)
    return existing is not None and getattr(existing, "definition", None) is None


def register_tasks(classes: list[type[AbsTask]]) -> None:
    """Add task classes to mteb (idempotent for the same class; a foreign name clash is an error)."""
    registry, similar = mteb_adapter.task_registry(), mteb_adapter.similar_tasks()
    mteb_tasks = importlib.import_module("mteb.tasks")
    added = []
    for cls in classes:
        name = cls.metadata.name
        if is_mteb_task(name):
            path = getattr(getattr(cls, "definition", None), "path", None)
            raise XLRBenchError(f"{path or 'A task definition'}: task name {name!r} already belongs to an mteb task; "
                                "rename the definition.")
        registry[name] = cls
        setattr(mteb_tasks, name, cls)
        added.append(cls)
        for parent in cls.metadata.adapted_from or []:
            siblings = similar.setdefault(parent, [])
            if name not in siblings:
                siblings.append(name)
    names = {c.metadata.name for c in added}
    module = mteb_adapter.tasks_module()
    module.TASK_LIST = tuple(t for t in module.TASK_LIST if t.metadata.name not in names) + tuple(added)


def is_xlr_bench_task(name: str) -> bool:
    """Whether mteb knows task ``name`` only because xlr-bench registered it (mteb itself does not ship it)."""
    return getattr(mteb_adapter.task_registry().get(name), "definition", None) is not None


def register_benchmark(benchmark: Benchmark) -> Benchmark:
    """Make ``mteb.get_benchmark(benchmark.name)`` find ``benchmark``.

    mteb builds its benchmark registry (cached) from the ``Benchmark`` objects in the module
    ``mteb.benchmarks.benchmarks``; adding ours there and dropping the cache is all it takes.
    """
    mteb_benchmarks = importlib.import_module("mteb.benchmarks.benchmarks")
    existing = getattr(mteb_benchmarks, benchmark.name, None)
    if existing is None and benchmark.name in mteb_adapter.benchmark_registry():
        raise XLRBenchError(f"Benchmark name {benchmark.name!r} already belongs to mteb; rename ours.")
    setattr(mteb_benchmarks, benchmark.name, benchmark)
    mteb_adapter.clear_benchmark_caches()
    return benchmark
