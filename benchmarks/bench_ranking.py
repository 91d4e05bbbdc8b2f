"""Benchmark: the full ranking by counting + partial selection against the stable full sort it replaced.

One XQuAD-R pooled subset's shape — 1,190 questions × 13,013 candidates, 11 relevant per question
(its answer in every language), top-100 run — with embeddings drawn at random (timing does not
depend on their values), ranked both ways in one process, alternating rounds; prints both times,
the ratio and whether ranks and runs are identical.

Run: python benchmarks/bench_ranking.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from xlr_bench.metrics import cosine, rank_corpus


def sorted_ranking(query_ids, q, corpus_ids, c, relevant, top_k, block_size=256):
    """The previous implementation: one stable descending sort per block, inverted for ranks."""
    ranks, run = {}, {}
    for start in range(0, len(query_ids), block_size):
        scores = cosine(q[start : start + block_size], c).float()
        order = torch.sort(scores, dim=1, descending=True, stable=True).indices
        top = order[:, :top_k]
        for qid, idx, val in zip(query_ids[start : start + block_size], top.tolist(), scores.gather(1, top).tolist()):
            run[qid] = {corpus_ids[j]: s for j, s in zip(idx, val)}
        rank_of = torch.empty_like(order)
        rank_of.scatter_(1, order, torch.arange(1, order.shape[1] + 1).expand_as(order).contiguous())
        for row, qid in enumerate(query_ids[start : start + block_size]):
            ranks[qid] = np.sort(rank_of[row, relevant[start + row]].numpy())
    return ranks, run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--queries", type=int, default=1190)
    parser.add_argument("--candidates", type=int, default=13013)
    parser.add_argument("--relevant", type=int, default=11)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    q = torch.as_tensor(rng.standard_normal((args.queries, 384), dtype=np.float32))
    c = torch.as_tensor(rng.standard_normal((args.candidates, 384), dtype=np.float32))
    qids, cids = [f"q{i}" for i in range(args.queries)], [f"d{i}" for i in range(args.candidates)]
    relevant = [rng.choice(args.candidates, args.relevant, replace=False).tolist() for _ in qids]
    qrels = {qid: {cids[j]: 1 for j in rel} for qid, rel in zip(qids, relevant)}
    times = {"sort": [], "count": []}
    for _ in range(args.rounds):
        start = time.perf_counter()
        ranks, run = sorted_ranking(qids, q, cids, c, relevant, 100)
        times["sort"].append(time.perf_counter() - start)
        start = time.perf_counter()
        ranking = rank_corpus(qids, q, cids, c, qrels, top_k=100)
        times["count"].append(time.perf_counter() - start)
    same = all(ranking.relevant_ranks[k].tolist() == ranks[k].tolist() for k in qids) and all(
        list(ranking.run[k].items()) == list(run[k].items()) for k in qids)
    best = {k: min(v) for k, v in times.items()}
    print(f"{args.queries} queries x {args.candidates} candidates, {args.relevant} relevant, top-100, "
          f"torch threads {torch.get_num_threads()}, best of {args.rounds}")
    print(f"stable full sort  {best['sort']:7.2f} s")
    print(f"count + partial   {best['count']:7.2f} s   ({best['sort'] / best['count']:.2f}x faster)")
    print(f"identical ranks and runs: {same}")


if __name__ == "__main__":
    main()
