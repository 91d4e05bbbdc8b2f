"""The XLR suites as mteb ``Benchmark``s: ``XLR`` (local data, complete committed results) and
``XLR-MIRACL`` (mteb's MIRACL on low-resource languages, which needs the Hugging Face hub).

``XLR`` holds the tasks every committed model was scored on (``results/``): XQuAD-R with
sentence candidates in the three settings of the α study (multilingual pool, monolingual,
cross-lingual) and AfriQA with its human-translated pivot reference. So mteb's per-benchmark mean is
a number for every model (``tests/test_benchmark.py`` checks it on the committed results). The other
repository tasks (the LAReQA protocol with paragraph context, MLQA-R, the training data of the study)
stay ordinary mteb tasks outside the suite. MIRACL's data live only on the hub, so it is a benchmark
of its own and ``XLR`` runs offline. Importing this module registers both: ``mteb.get_benchmark("XLR")``.
"""

from __future__ import annotations

import mteb
from mteb.benchmarks.benchmark import Benchmark

from xlr_bench.core.mteb_registry import register_benchmark

NAME = "XLR"
HUB_NAME = "XLR-MIRACL"
SUITE_TASKS = [
    "XQuADRSentenceRetrieval", "XQuADRSentenceMonolingualRetrieval", "XQuADRSentenceCrossLingualRetrieval",
    "AfriQARetrieval", "AfriQAPivotRetrieval",
]
#: MIRACL subsets (mteb names them by ISO 639-1 code) of languages with little retrieval training data.
MIRACL_SUBSETS = ["sw", "yo", "te", "th", "bn", "hi"]


def _citations(tasks: list) -> str:
    """The distinct BibTeX entries of the tasks' datasets, in task order."""
    return "\n".join(dict.fromkeys(t.metadata.bibtex_citation.strip() for t in tasks if t.metadata.bibtex_citation))


def build_benchmark() -> Benchmark:
    """The XLR ``Benchmark`` (tasks instantiated, no data loaded)."""
    tasks = list(mteb.get_tasks(tasks=SUITE_TASKS))
    return Benchmark(
        name=NAME,
        tasks=tasks,
        description=(
            "Cross-lingual and low-resource retrieval, offline: language-agnostic answer-sentence retrieval on "
            "XQuAD-R (LAReQA; 11 languages, 1,190 parallel questions each) in the multilingual-pool, monolingual "
            "and cross-lingual settings (sentence candidates; main score mAP@20, with LAReQA's full-ranking mAP "
            "and the rank-distance language-bias measure), and AfriQA questions in nine African languages "
            "against the pooled English/French gold passages, with the human-translated pivot questions as the "
            "upper reference (nDCG@10)."
        ),
        citation=_citations(tasks),
    )


def build_hub_benchmark() -> Benchmark:
    """MIRACL's low-resource subsets, apart from XLR because their data are only on the hub."""
    task = mteb.get_task("MIRACLRetrieval", hf_subsets=MIRACL_SUBSETS)
    return Benchmark(
        name=HUB_NAME,
        tasks=[task],
        description=("The low-resource languages of mteb's MIRACL retrieval task (Swahili, Yoruba, Telugu, Thai, "
                     "Bengali, Hindi), a companion of XLR that needs the Hugging Face hub."),
        citation=task.metadata.bibtex_citation,
    )


XLR = register_benchmark(build_benchmark())
XLR_MIRACL = register_benchmark(build_hub_benchmark())
