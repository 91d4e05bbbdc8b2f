"""Benchmark: encoding speed and agreement of each backend and precision option of the converted me5-small.

Options are BACKEND-PRECISION: torch-fp32 (the reference, eager), torch-bf16 (CPU autocast),
torch-int8 (torch.ao dynamic), openvino-fp32, openvino-bf16 (the CPU plugin's bf16 hint; runs in
fp32 on cores without bf16 units, and the table says which precision ran).
Side by side in one run on the same texts (XQuAD-R candidates = sentence + paragraph, truncated at
--max-length tokens; and questions), on this machine's cores:
  texts/s for fp32 eager and each faster option, the ratio to fp32, peak RSS growth,
  mean cosine between fp32 and the option's embeddings (target >= 0.999 for bf16),
  and the change in pooled mAP@20, full mAP and rank distance on a fixed 2-language slice of
  XQuAD-R (en + de questions against the en + de candidates of the first --articles articles;
  target |delta mAP| <= 0.005).

With --full-task TASK (e.g. XQuADRSentenceRetrieval) each option also scores that whole task through
``xlr_bench.evaluation.evaluate`` and the table adds its mAP@20 / mAP / rank distance deltas.

Run: XLR_BENCH_DATA=../shared/data python benchmarks/bench_precision.py [--articles 12] [--max-length 512]
         [--options torch-fp32,torch-bf16,openvino-fp32,openvino-bf16] [--full-task XQuADRSentenceRetrieval]
"""

from __future__ import annotations

import argparse
import os
import resource
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=12)
    parser.add_argument("--max-length", type=int, default=512)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--options", default="torch-fp32,torch-bf16,openvino-fp32,openvino-bf16")
    parser.add_argument("--full-task", default=None, help="also score this whole task per option")
    args = parser.parse_args()

    import numpy as np
    import torch

    from xlr_bench.models.encoder import XLREncoder
    from xlr_bench.data.lareqa import candidate_text, load_lareqa
    from xlr_bench.metrics import average_precision, rank_corpus, rank_distance

    langs = ["de", "en"]
    data = load_lareqa({lang: f"lareqa/xquad-r/{lang}.json" for lang in langs})
    cands = [c for lang in langs for c in data.candidates[lang] if int(c.id.split(":")[1]) < args.articles]
    cand_ids = {c.id for c in cands}
    questions = [q for lang in langs for q in data.questions[lang] if data.relevant(q.qid, langs) <= cand_ids]
    qrels = {q.id: {cid: 1 for cid in data.relevant(q.qid, langs)} for q in questions}
    docs = [candidate_text(c) for c in cands]
    print(f"slice: {len(questions)} questions x {len(cands)} candidates (en+de, {args.articles} articles), "
          f"max length {args.max_length}, batch {args.batch_size}, torch threads {torch.get_num_threads()}")

    rows, reference = [], None
    for option in args.options.split(","):
        backend, precision = option.split("-")
        encoder = XLREncoder("me5-small", device="cpu", precision=precision, backend=backend)
        st = encoder.model
        st.max_seq_length = args.max_length
        autocast = backend == "torch" and precision == "bf16"
        context = torch.autocast("cpu", dtype=torch.bfloat16) if autocast else torch.no_grad()
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        with context:
            st.encode(docs[:8], prompt="passage: ")  # warm-up
            start = time.perf_counter()
            d_emb = st.encode(docs, prompt="passage: ", batch_size=args.batch_size, convert_to_tensor=True).float()
            doc_rate = len(docs) / (time.perf_counter() - start)
            start = time.perf_counter()
            q_emb = st.encode([q.text for q in questions], prompt="query: ", batch_size=args.batch_size,
                              convert_to_tensor=True).float()
            query_rate = len(questions) / (time.perf_counter() - start)
        peak_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024
        ranking = rank_corpus([q.id for q in questions], q_emb, [c.id for c in cands], d_emb, qrels, top_k=20)
        ranks = [ranking.relevant_ranks[q.id] for q in questions]
        metrics = {"map@20": np.mean([average_precision(r, 20) for r in ranks]),
                   "map": np.mean([average_precision(r) for r in ranks]),
                   "rd": np.mean([rank_distance(r) for r in ranks])}
        if args.full_task:
            metrics |= {f"task {k}": v for k, v in full_task_scores(encoder, args.full_task, args.batch_size).items()}
        option = f"{backend}-{encoder.precision}" + (" (asked bf16)" if encoder.precision != precision else "")
        if reference is None:
            reference = (d_emb, q_emb, metrics, doc_rate)
        cosines = torch.nn.functional.cosine_similarity(torch.cat([d_emb, q_emb]), torch.cat(reference[:2]))
        rows.append((option, doc_rate, query_rate, doc_rate / reference[3], cosines, metrics, peak_mb))
        del encoder, st

    print(f"{'option':22} {'cand/s':>7} {'query/s':>8} {'x fp32':>7} {'mean cos':>9} {'min cos':>8} {'mAP@20':>7} "
          f"{'dmAP@20':>8} {'mAP':>7} {'dmAP':>7} {'RD':>6} {'dRD':>6} {'peak+MB':>8}")
    ref = reference[2]
    for option, dr, qr, ratio, cos, m, peak in rows:
        print(f"{option:22} {dr:7.1f} {qr:8.1f} {ratio:7.2f} {cos.mean().item():9.6f} {cos.min().item():8.5f} "
              f"{m['map@20']:7.4f} {m['map@20'] - ref['map@20']:+8.4f} {m['map']:7.4f} {m['map'] - ref['map']:+7.4f} "
              f"{m['rd']:6.2f} {m['rd'] - ref['rd']:+6.2f} {peak:8.0f}")
    if args.full_task:
        print(f"\n{args.full_task} (all subsets; means over subsets):")
        for option, *_, m, _ in rows:
            print(f"{option:22} mAP@20 {m['task map_at_20']:.4f} ({m['task map_at_20'] - ref['task map_at_20']:+.4f})  "
                  f"mAP {m['task map']:.4f} ({m['task map'] - ref['task map']:+.4f})  "
                  f"RD {m['task rank_distance']:.1f} ({m['task rank_distance'] - ref['task rank_distance']:+.1f})")


def full_task_scores(encoder, task: str, batch_size: int) -> dict[str, float]:
    """Mean over subsets of mAP@20, mAP and rank distance of ``task``, scored into a throwaway folder."""
    import tempfile
    from pathlib import Path

    import numpy as np

    from xlr_bench.evaluation import evaluate

    with tempfile.TemporaryDirectory() as out:
        result = evaluate(encoder, [task], Path(out), batch_size=batch_size).task_results[0]
    scores = [s for split in result.scores.values() for s in split]
    return {k: float(np.mean([s.get(k, np.nan) for s in scores])) for k in ("map_at_20", "map", "rank_distance")}


if __name__ == "__main__":
    main()
