"""The data layer: pinned upstream files (``registry.json``), found locally or fetched and checked by
sha256, and the LAReQA parser. Knows nothing of tasks, models or mteb."""

from xlr_bench.data.files import check, datasets, fetch, locate, read_json, read_jsonl, registry
from xlr_bench.data.lareqa import Candidate, LAReQAData, Question, candidate_text, load_lareqa

__all__ = [
    "Candidate", "LAReQAData", "Question", "candidate_text", "check", "datasets", "fetch", "load_lareqa",
    "locate", "read_json", "read_jsonl", "registry",
]
