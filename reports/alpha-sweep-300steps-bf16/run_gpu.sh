#!/usr/bin/env bash
# The α study of issue 19 on one GPU, all of it at once: α ∈ {0, .25, .5, .75, 1}, seeds 42–44 for α ∈ {0, .5, 1}
# and 42 for .25 / .75, 300 steps × batch 16 on MLQA-R + AfriQA train in bf16 (the issue's recipe; the CPU run in
# reports/alpha-sweep-300steps trains in fp32 because its cores have no bf16 units), InfoNCE at scale 100.
# Every checkpoint and the base model are scored in fp32 on the three XQuAD-R settings with sentence candidates,
# AfriQA / AfriQA pivot, and the three XQuAD-R settings with the LAReQA protocol's candidates (sentence +
# paragraph), in that order. The 13 jobs run as parallel processes sharing the GPU (`--executor local
# --max-parallel 13`: me5-small trains at batch 16 in a few GB, so one job leaves a large GPU mostly idle).
#
# Run from anywhere with XLR_BENCH_DATA set; extra arguments go to `xlr-bench sweep` (the last value of an
# option wins), e.g. `--steps 3 --subsets de,de-de,hau` for a rehearsal. Resumable as every sweep is. With OUT
# set (a folder), the results, the sweep's status, timings and job logs are packed into $OUT/study.tar.xz every
# 30 s, so a run stopped by a time limit still hands back everything finished so far.
set -uo pipefail
cd "$(dirname "$0")/../.."
STUDY=reports/alpha-sweep-300steps-bf16
SWEEP=${SWEEP:-runs/sweep-300steps-bf16}
XLR=${XLR:-xlr-bench}
TASKS=XQuADRSentenceRetrieval,XQuADRSentenceMonolingualRetrieval,XQuADRSentenceCrossLingualRetrieval,AfriQARetrieval,AfriQAPivotRetrieval,XQuADRRetrieval,XQuADRMonolingualRetrieval,XQuADRCrossLingualRetrieval
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1
mkdir -p "$SWEEP"
# what ran where (the per-phase times are in the sweep's timings.jsonl)
{
  printf '%s start on %s: %s, %s cores; ' "$(date -u +%FT%TZ)" "$(hostname)" "$(lscpu | sed -n 's/^Model name: *//p' | head -1)" "$(nproc)"
  python3 -c 'import torch, transformers, sentence_transformers as st, mteb; g = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"; print(f"{g}; torch {torch.__version__}, transformers {transformers.__version__}, sentence-transformers {st.__version__}, mteb {mteb.__version__}")'
} >> "$SWEEP/runs.log"

pack() {  # everything finished so far, atomically (unfinished task files are hidden .partial files: skipped)
  [ -n "${OUT:-}" ] || return 0
  tar --exclude='.*' --exclude='*.pkl' -cf - results "$SWEEP"/*.json* "$SWEEP"/runs.log "$SWEEP"/jobs "$STUDY" 2>/dev/null \
    | xz -T4 -3 > "$OUT/study.tar.xz.tmp" && mv "$OUT/study.tar.xz.tmp" "$OUT/study.tar.xz"
}

$XLR sweep --base me5-small --tag 300stepsbf16 --ratios 0,0.25,0.5,0.75,1 --seeds 42,43,44 --replicate-ratios 0,0.5,1 \
  --train-data mlqa-r,afriqa --steps 300 --batch-size 16 --max-length 128 --scale 100 --bf16-train --tasks "$TASKS" \
  --precision fp32 --eval-batch-size 64 --executor local --max-parallel 13 --drop-checkpoints \
  --sweep-dir "$SWEEP" --results results --report "$STUDY" "$@" &
sweep=$!
while kill -0 "$sweep" 2>/dev/null; do sleep 30; pack; done
wait "$sweep"; status=$?
printf '%s end: exit %s\n' "$(date -u +%FT%TZ)" "$status" >> "$SWEEP/runs.log"
pack
exit "$status"
