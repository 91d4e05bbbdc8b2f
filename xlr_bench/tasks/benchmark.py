"""The XLR suite: xlr-bench's cross-lingual and low-resource tasks as one mteb ``Benchmark``.

It holds every built-in task definition with the ``lareqa`` or ``afriqa``
loader (XQuAD-R and MLQA-R in their three settings, AfriQA and its pivot reference) and the
low-resource languages of mteb's own MIRACL retrieval task (Swahili, Yoruba, Telugu, Thai, Bengali,
Hindi). User definitions from ``XLR_BENCH_TASKS`` are not part of it, so "XLR" names the same tasks
everywhere. Importing this module registers the suite: ``mteb.get_benchmark("XLR")``.
"""

from __future__ import annotations

import mteb
from mteb.benchmarks.benchmark import Benchmark

from xlr_bench.core.mteb_registry import register_benchmark
from xlr_bench.definitions.tasks import BUILTIN_TASKS, load_valid_definitions

NAME = "XLR"
SUITE_LOADERS = ("lareqa", "afriqa")
#: MIRACL subsets (mteb names them by ISO 639-1 code) of languages with little retrieval training data.
MIRACL_SUBSETS = ["sw", "yo", "te", "th", "bn", "hi"]


def suite_task_names() -> list[str]:
    """The suite's own tasks: built-in definitions of the suite's loaders, in a stable order."""
    definitions, _ = load_valid_definitions()  # a broken user file is reported elsewhere, not here
    return sorted(name for name, d in definitions.items()
                  if d.loader in SUITE_LOADERS and d.path.parent == BUILTIN_TASKS.resolve())


def build_benchmark() -> Benchmark:
    """The XLR ``Benchmark`` (tasks instantiated, no data loaded)."""
    tasks = [*mteb.get_tasks(tasks=suite_task_names()), mteb.get_task("MIRACLRetrieval", hf_subsets=MIRACL_SUBSETS)]
    return Benchmark(
        name=NAME,
        tasks=tasks,
        description=(
            "Cross-lingual and low-resource retrieval: language-agnostic answer retrieval (XQuAD-R, MLQA-R) "
            "in the multilingual, monolingual and cross-lingual settings, AfriQA questions in nine African "
            "languages against English/French passages (with the human-translated pivot questions as the "
            "upper reference), and MIRACL in Swahili, Yoruba, Telugu, Thai, Bengali and Hindi."
        ),
    )


XLR = register_benchmark(build_benchmark())
