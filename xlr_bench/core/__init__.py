"""Foundations every stage shares: the one user-facing error type, where files live, atomic writes,
and the single place that touches mteb's registries. Imports nothing else of xlr-bench."""

from xlr_bench.core.atomic import atomic_open, write_json
from xlr_bench.core.errors import XLRBenchError
from xlr_bench.core.paths import REPO_ROOT, cache_dir

__all__ = ["REPO_ROOT", "XLRBenchError", "atomic_open", "cache_dir", "write_json"]
