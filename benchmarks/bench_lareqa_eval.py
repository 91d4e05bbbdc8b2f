"""Benchmark: evaluating one model on every XQuAD-R setting (11 pooled + 11 mono + 110 cross subsets).

Prints, measured side by side in one run on a small locally built model:
  * encoded / distinct (text, role) pairs  (target 1.00: each text encoded once);
  * wall time of the shared evaluation against a bare encode of the distinct texts (target <= 1.15x);
  * the speed-up over the same subsets through mteb's own retrieval evaluation (no sharing);
  * peak memory of scoring the 13k x 13k pool beyond the embeddings (target < 1 GB).

Run: XLR_BENCH_DATA=../shared/data python benchmarks/bench_lareqa_eval.py [--skip-unshared]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")


def _vm_hwm_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _reset_peak() -> None:
    Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS (Linux)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--skip-unshared", action="store_true", help="skip the slow mteb-without-sharing run")
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()

    import mteb
    import numpy as np
    import torch
    from mteb.abstasks.retrieval import AbsTaskRetrieval
    from mteb.cache import ResultCache
    from mteb.models.sentence_transformer_wrapper import SentenceTransformerEncoderWrapper
    from sentence_transformers import SentenceTransformer

    import xlr_bench  # noqa: F401
    from xlr_bench.tasks.embedding_memo import memo_for
    from xlr_bench.data.lareqa import candidate_text, load_lareqa
    from xlr_bench.metrics import rank_corpus
    from xlr_bench.testing import build_tiny_model

    torch.set_num_threads(os.cpu_count() or 1)
    langs = ["ar", "de", "el", "en", "es", "hi", "ru", "th", "tr", "vi", "zh"]
    data = load_lareqa({lang: f"lareqa/xquad-r/{lang}.json" for lang in langs})
    docs = list(dict.fromkeys(candidate_text(c) for lang in langs for c in data.candidates[lang]))
    queries = list(dict.fromkeys(q.text for lang in langs for q in data.questions[lang]))
    names = ["XQuADRRetrieval", "XQuADRMonolingualRetrieval", "XQuADRCrossLingualRetrieval"]
    encode_kwargs = {"batch_size": args.batch_size, "show_progress_bar": False}

    with tempfile.TemporaryDirectory() as tmp:
        texts = [c.sentence for lang in langs for c in data.candidates[lang]]
        st = SentenceTransformer(str(build_tiny_model(Path(tmp), texts)), device="cpu")

        start = time.perf_counter()
        st.encode(queries, prompt="query: ", batch_size=args.batch_size)
        st.encode(docs, prompt="passage: ", batch_size=args.batch_size)
        bare = time.perf_counter() - start

        model = SentenceTransformerEncoderWrapper(st)
        start = time.perf_counter()
        mteb.evaluate(model, [mteb.get_task(n) for n in names], cache=ResultCache(Path(tmp) / "shared"),
                      encode_kwargs=encode_kwargs, show_progress_bar=False)
        shared = time.perf_counter() - start
        memo = memo_for(model)

        print(f"distinct (text, role) pairs : {len(docs) + len(queries)} ({len(queries)} queries, {len(docs)} candidates)")
        print(f"encoded                     : {memo.encoded}  (requested {memo.requested})")
        print(f"encoded / distinct          : {memo.encoded / (len(docs) + len(queries)):.2f}  (target 1.00)")
        print(f"bare encode of distinct     : {bare:7.1f} s")
        print(f"shared evaluation, 132 subs : {shared:7.1f} s  = {shared / bare:.2f}x bare encode  (target <= 1.15x)")

        if not args.skip_unshared:
            model2 = SentenceTransformerEncoderWrapper(st)
            classes = {type(mteb.get_task(n)) for n in names}
            saved = {cls: cls.__dict__.get("_evaluate_subset") for cls in classes}
            for cls in classes:  # mteb's own top-k evaluation, each subset encoding its own texts
                cls._evaluate_subset = AbsTaskRetrieval._evaluate_subset
            try:
                start = time.perf_counter()
                mteb.evaluate(model2, [mteb.get_task(n) for n in names], cache=ResultCache(Path(tmp) / "plain"),
                              encode_kwargs=encode_kwargs, show_progress_bar=False)
                plain = time.perf_counter() - start
            finally:
                for cls, method in saved.items():
                    if method is None:
                        del cls._evaluate_subset
                    else:
                        cls._evaluate_subset = method
            print(f"mteb without sharing        : {plain:7.1f} s  -> sharing is {plain / shared:.1f}x faster")

    # scoring memory: 13,090 queries x 13,014 candidates at dimension 384, blocks of 256 queries
    rng = np.random.default_rng(0)
    q = rng.standard_normal((len(langs) * 1190, 384), dtype=np.float32)
    c = rng.standard_normal((13014, 384), dtype=np.float32)
    qrels = {str(i): {str((i * 7 + k) % 13014): 1 for k in range(11)} for i in range(len(q))}
    _reset_peak()
    base = _vm_hwm_mb()
    start = time.perf_counter()
    rank_corpus([str(i) for i in range(len(q))], q, [str(i) for i in range(len(c))], c, qrels, top_k=100)
    elapsed = time.perf_counter() - start
    print(f"scoring 13k x 13k pool      : {elapsed:7.1f} s, peak memory beyond embeddings {_vm_hwm_mb() - base:.0f} MB (target < 1024 MB)")


if __name__ == "__main__":
    main()
