"""Foundations every stage shares: the one user-facing error type, where files live, atomic writes,
and the single place that touches mteb's registries. Imports nothing else of xlr-bench."""

from xlr_bench.core.atomic import atomic_open, write_json
from xlr_bench.core.errors import XLRBenchError
from xlr_bench.core.paths import BUILTIN_DEFINITIONS, cache_dir, user_definitions_dir

__all__ = ["BUILTIN_DEFINITIONS", "XLRBenchError", "atomic_open", "cache_dir", "user_definitions_dir", "write_json"]
