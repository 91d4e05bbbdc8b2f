#!/usr/bin/env bash
# The α study at ten times the first study's training (issue 19): α ∈ {0, .25, .5, .75, 1}, seeds 42–44
# for α ∈ {0, .5, 1}, 300 steps × batch 16 on MLQA-R + AfriQA train, every checkpoint scored on the three
# XQuAD-R sentence-candidate settings and AfriQA / AfriQA pivot. InfoNCE at scale 100 (multilingual-e5's own
# temperature, 0.01): at the first study's 20 every tuning lost ~0.05 monolingual mAP@20, at 100 much less
# (4 languages, 30 steps: −0.048 at 20, −0.007 at 100; reports/monolingual-loss). fp32 throughout: on CPUs without bf16 units bf16 autocast is ~5.7x slower. Resumable: run it again after any
# interruption (a finished training or scored task is skipped, a killed training resumes exactly).
# After each finished (α, seed) its results are committed (git) with the per-phase times, so a
# session that ends loses nothing. Run from the repository root with XLR_BENCH_DATA set.
set -euo pipefail
SWEEP=${SWEEP:-runs/sweep-300steps}
OUT=reports/alpha-sweep-300steps
TASKS=XQuADRSentenceRetrieval,XQuADRSentenceMonolingualRetrieval,XQuADRSentenceCrossLingualRetrieval,AfriQARetrieval,AfriQAPivotRetrieval
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1
STARTED=$(date -u +%Y%m%dT%H%M%SZ)

commit_finished() {  # every finished task file (unfinished ones are hidden .partial files, ignored by git)
  git add results
  if [ -f "$SWEEP/timings.jsonl" ]; then  # the sweep keeps this invocation's phases; one file per invocation here
    mkdir -p "$OUT/timings"; cp "$SWEEP/timings.jsonl" "$OUT/timings/$STARTED.jsonl"; git add "$OUT/timings"
  fi
  git add "$OUT/runs.log"
  if ! git diff --cached --quiet; then
    models=$(git diff --cached --name-only -- results | cut -d/ -f2 | sort -u | sed 's/xlr-bench__//' | paste -sd' ')
    if [ -n "$models" ]; then message="results of $models"; else message="run log"; fi
    git commit -q -m "α study (300 steps): $message" -- results "$OUT"
  fi
}

# what ran where: one line per invocation (the per-phase times are in timings.jsonl)
printf '%s start on %s: %s, %s cores, torch %s\n' "$(date -u +%FT%TZ)" "$(hostname)" \
  "$(lscpu | sed -n 's/^Model name: *//p' | head -1)" "$(nproc)" "$(python -c 'import torch; print(torch.__version__)')" >> "$OUT/runs.log"

xlr-bench sweep --base me5-small --tag 300steps --ratios 0,0.25,0.5,0.75,1 --seeds 42,43,44 --replicate-ratios 0,0.5,1 \
  --train-data mlqa-r,afriqa --steps 300 --batch-size 16 --max-length 128 --scale 100 --tasks "$TASKS" \
  --precision fp32 --eval-batch-size 64 --sweep-dir "$SWEEP" --results results --report "$OUT" "$@" &
sweep=$!
while kill -0 "$sweep" 2>/dev/null; do sleep 120; commit_finished; done
wait "$sweep"
commit_finished
git add "$OUT" && git commit -q -m "α study (300 steps): report" -- "$OUT" || true
