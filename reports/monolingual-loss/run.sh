#!/usr/bin/env bash
# Why does every fine-tuning lose ~0.05 monolingual mAP@20 against the base? One knob at a time
# against the 30-step recipe of the committed study (α = 0.5, seed 42, batch 16), each model scored in
# fp32 on XQuAD-R sentence candidates, monolingual and cross-lingual, among de / en / th / zh (de, en,
# zh are MLQA-R training languages, th is not). Resumable: a finished training or scored task is
# skipped on a rerun. Models go to $OUT (not kept), results to reports/monolingual-loss/results/<probe>. Usage: bash reports/monolingual-loss/run.sh [probe ...]
set -euo pipefail
OUT=${OUT:-runs/mono-loss}
LANGS=(de en th zh)
SUBSETS=$(for q in "${LANGS[@]}"; do for c in "${LANGS[@]}"; do printf '%s-%s,' "$q" "$c"; done; done)
TASKS=XQuADRSentenceMonolingualRetrieval,XQuADRSentenceCrossLingualRetrieval
RECIPE=(--train-data mlqa-r,afriqa --ratio 0.5 --seed 42 --steps 30 --batch-size 16 --max-length 128)

declare -A PROBES=(
  [recipe]=""                          # the committed study's recipe (lr 3e-5, scale 20)
  [scale100]="--scale 100"             # multilingual-e5's own temperature (0.01)
  [lr1e-5]="--lr 1e-5"                 # a third of the learning rate
  [mlqa-only]="--train-data mlqa-r"    # without AfriQA's long passages
  [steps10]="--steps 10"               # earlier in the same schedule shape
)
ORDER=(base recipe scale100 lr1e-5 mlqa-only steps10)
[ $# -gt 0 ] && ORDER=("$@")

for probe in "${ORDER[@]}"; do
  echo "== $probe ($(date -u +%H:%M:%S))"
  if [ "$probe" = base ]; then
    model=me5-small
  else
    model=$OUT/$probe/model
    # shellcheck disable=SC2086
    /usr/bin/time -f "train $probe: %e s" xlr-bench train "${RECIPE[@]}" ${PROBES[$probe]} --output "$model"
  fi
  /usr/bin/time -f "evaluate $probe: %e s" xlr-bench evaluate "$model" -t "$TASKS" --subsets "${SUBSETS%,}" \
    --batch-size 64 -o "reports/monolingual-loss/results/$probe"
done
python reports/monolingual-loss/summarize.py reports/monolingual-loss/results > reports/monolingual-loss/summary.md
cat reports/monolingual-loss/summary.md
