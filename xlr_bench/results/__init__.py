"""Results: mteb's ``ResultCache`` layout, written atomically, and the checks a results tree must pass."""

from xlr_bench.results.cache import AtomicResultCache, result_cache_for, results_root, validate_results

__all__ = ["AtomicResultCache", "result_cache_for", "results_root", "validate_results"]
