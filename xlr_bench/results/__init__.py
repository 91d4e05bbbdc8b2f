"""Results: the MTEB results repository's layout, written atomically; its rules checked; submissions;
and the registration of every checkpoint with results in mteb."""

from xlr_bench.results.cache import AtomicResultCache, result_cache_for, write_model_meta
from xlr_bench.results.registered import result_model_metas, results_roots
from xlr_bench.results.validate import Problem, Validation, validate_results

__all__ = ["AtomicResultCache", "Problem", "Validation", "result_cache_for", "result_model_metas", "results_roots",
           "validate_results", "write_model_meta"]
