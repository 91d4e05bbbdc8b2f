"""Benchmark: encoding speed and agreement of each precision option of the converted me5-small.

Side by side in one run on the same texts (XQuAD-R candidates = sentence + paragraph, truncated at
--max-length tokens; and questions), on this machine's cores:
  texts/s for fp32 eager and each faster option, the ratio to fp32, peak RSS growth,
  mean cosine between fp32 and the option's embeddings (target >= 0.999 for bf16),
  and the change in pooled mAP@20, full mAP and rank distance on a fixed 2-language slice of
  XQuAD-R (en + de questions against the en + de candidates of the first --articles articles;
  target |delta mAP| <= 0.005).

Run: XLR_BENCH_DATA=../shared/data python benchmarks/bench_precision.py [--articles 12] [--max-length 256]
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
    parser.add_argument("--max-length", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--options", default="fp32,bf16,int8")
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
        encoder = XLREncoder("me5-small", device="cpu", precision=option)
        st = encoder.model
        st.max_seq_length = args.max_length
        context = torch.autocast("cpu", dtype=torch.bfloat16) if option == "bf16" else torch.no_grad()
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
        if reference is None:
            reference = (d_emb, q_emb, metrics, doc_rate)
        cos = torch.nn.functional.cosine_similarity(torch.cat([d_emb, q_emb]), torch.cat(reference[:2])).mean().item()
        rows.append((option, doc_rate, query_rate, doc_rate / reference[3], cos, metrics, peak_mb))
        del encoder, st

    print(f"{'option':7} {'cand/s':>7} {'query/s':>8} {'x fp32':>7} {'cosine':>8} {'mAP@20':>7} {'dmAP@20':>8} "
          f"{'mAP':>7} {'dmAP':>7} {'RD':>6} {'dRD':>6} {'peak+MB':>8}")
    ref = reference[2]
    for option, dr, qr, ratio, cos, m, peak in rows:
        print(f"{option:7} {dr:7.1f} {qr:8.1f} {ratio:7.2f} {cos:8.5f} {m['map@20']:7.4f} {m['map@20'] - ref['map@20']:+8.4f} "
              f"{m['map']:7.4f} {m['map'] - ref['map']:+7.4f} {m['rd']:6.2f} {m['rd'] - ref['rd']:+6.2f} {peak:8.0f}")


if __name__ == "__main__":
    main()
