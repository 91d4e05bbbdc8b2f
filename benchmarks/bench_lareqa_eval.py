"""Benchmark: evaluating one model on every XQuAD-R setting (11 pooled + 11 mono + 110 cross subsets).

Prints, measured side by side in one run on a small locally built model (or ``--model``, e.g. the
converted me5-small, with ``--backend`` / ``--precision``):
  * encoded / distinct (text, role) pairs  (target 1.00: each text encoded once);
  * wall time of the shared evaluation against a bare encode of the distinct texts (target <= 1.15x);
  * the speed-up over the same subsets through mteb's own retrieval evaluation (no sharing);
  * peak memory of scoring the 13k x 13k pool beyond the embeddings (target < 1 GB).

Run: XLR_BENCH_DATA=../shared/data python benchmarks/bench_lareqa_eval.py [--skip-unshared]
         [--model me5-small --backend openvino --precision bf16] [--results DIR]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from contextlib import nullcontext
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
    parser.add_argument("--model", default=None, help="a model definition (default: a tiny model built here)")
    parser.add_argument("--backend", default="torch", help="with --model: torch or openvino")
    parser.add_argument("--precision", default="fp32", help="with --model: fp32, bf16, ...")
    parser.add_argument("--results", type=Path, default=None,
                        help="keep the shared evaluation's results in this results root (default: thrown away)")
    args = parser.parse_args()

    import mteb
    import numpy as np
    import torch
    from mteb.abstasks.retrieval import AbsTaskRetrieval
    from mteb.cache import ResultCache
    from mteb.models.sentence_transformer_wrapper import SentenceTransformerEncoderWrapper
    from sentence_transformers import SentenceTransformer

    import xlr_bench  # noqa: F401
    from xlr_bench.models.encoder import XLREncoder
    from xlr_bench.evaluation import evaluate
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
        if args.model:  # the wrapper the CLI scores with: its backend, precision and autocast
            model = XLREncoder(args.model, device="cpu", precision=args.precision, backend=args.backend)
            st = model.model
            print(f"model {args.model}: backend {model.backend}, precision {model.precision}, "
                  f"{torch.get_num_threads()} threads")
        else:
            texts = [c.sentence for lang in langs for c in data.candidates[lang]]
            st = SentenceTransformer(str(build_tiny_model(Path(tmp), texts)), device="cpu")
            model = SentenceTransformerEncoderWrapper(st)
        autocast = torch.autocast("cpu", dtype=torch.bfloat16) if getattr(model, "_autocast", False) else nullcontext()

        start = time.perf_counter()
        with autocast:
            st.encode(queries, prompt="query: ", batch_size=args.batch_size)
            st.encode(docs, prompt="passage: ", batch_size=args.batch_size)
        bare = time.perf_counter() - start

        start = time.perf_counter()  # the CLI's path: mteb.evaluate with the atomic result cache
        evaluate(model, names, args.results or Path(tmp) / "shared", batch_size=args.batch_size)
        shared = time.perf_counter() - start
        memo = memo_for(model)

        print(f"distinct (text, role) pairs : {len(docs) + len(queries)} ({len(queries)} queries, {len(docs)} candidates)")
        print(f"encoded                     : {memo.encoded}  (requested {memo.requested})")
        print(f"encoded / distinct          : {memo.encoded / (len(docs) + len(queries)):.2f}  (target 1.00)")
        print(f"bare encode of distinct     : {bare:7.1f} s")
        print(f"shared evaluation, 132 subs : {shared:7.1f} s  = {shared / bare:.2f}x bare encode  (target <= 1.15x)")

        if not args.skip_unshared:
            model2 = SentenceTransformerEncoderWrapper(st)  # (torch bf16 autocast aside: --skip-unshared with it)
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
