"""xlr-bench: cross-lingual and low-resource retrieval tasks, models and hybrid-batch training for MTEB.

After ``import xlr_bench`` every task and model definition is an mteb task or model:
``mteb.get_task("XQuADRRetrieval")``, ``mteb.get_benchmark("XLR")``, ``mteb.get_model("xlr-bench/me5-small")``.

Importing the package does not import mteb (seconds of torch and transformers), so the command line
starts fast: the definitions are registered the moment mteb is imported — at once if it already
is, otherwise right after the first ``import mteb`` anywhere. A definition file that does not load
is skipped here with a warning (one broken file must not break every command); the commands that
read it (``tasks list``, ``tasks validate``, ``models list``) report it as an error.
Every checkpoint with results (``xlr_bench.results.registered``) is an mteb model too.
"""

from __future__ import annotations

import warnings
from typing import Any

from xlr_bench.core.import_hook import call_after_import

__version__ = "0.1.0"

_registered: list[str] | None = None


def register_all() -> list[str]:
    """(Re-)register every loadable task and model definition, every checkpoint with results, and the XLR
    suite, with mteb.

    Returns the task names. Definitions that do not load are skipped with one warning naming each.
    Results come last: a definition that has results is registered with what its results record
    (revision, counted sizes).
    """
    global _registered
    from xlr_bench.core.errors import XLRBenchError
    from xlr_bench.core.mteb_registry import register_models, register_tasks
    from xlr_bench.definitions.models import load_valid_model_definitions
    from xlr_bench.definitions.tasks import load_valid_definitions
    from xlr_bench.models.encoder import registry_meta
    from xlr_bench.results.registered import result_model_metas
    from xlr_bench.tasks.factory import build_task_class

    definitions, problems = load_valid_definitions()
    classes = []
    for definition in definitions.values():
        try:
            classes.append(build_task_class(definition))
        except XLRBenchError as exc:
            problems.append(str(exc))
    register_tasks(classes)
    models, model_problems = load_valid_model_definitions()
    register_models([registry_meta(d) for d in models.values()])
    register_models(result_model_metas())
    for problem in problems + model_problems:
        warnings.warn(f"xlr-bench skipped a definition: {problem}", stacklevel=2)
    _registered = [c.metadata.name for c in classes]
    # The XLR suite joins mteb's benchmark module when that is imported (by mteb.get_benchmark(s), at
    # once if it already is): importing it builds every task of every mteb benchmark, ~2,200 task
    # objects that each reseed torch, seconds that a process scoring or validating results never needs.
    call_after_import("mteb.benchmarks.benchmarks", __name__, _register_benchmarks)
    return _registered


def _register_benchmarks() -> None:
    import xlr_bench.tasks.benchmark  # noqa: F401  (registers mteb.get_benchmark("XLR"))


def __getattr__(name: str) -> Any:
    """``TASK_NAMES`` (registered task names) and ``XLR`` (the suite), registering first if needed."""
    if name == "TASK_NAMES":
        return _registered if _registered is not None else register_all()
    if name == "XLR":
        if _registered is None:
            register_all()
        from xlr_bench.tasks.benchmark import XLR

        return XLR
    raise AttributeError(f"module 'xlr_bench' has no attribute {name!r}")


call_after_import("mteb", __name__, lambda: None if _registered is not None else register_all())
