#!/usr/bin/env bash
# Issue 16's CPU measurements in one go, for a host whose cores have bf16 units (AMX / AVX-512-BF16), where
# OpenVINO's bf16 hint is the lever; on other cores the bf16 options run fp32 and the tables say so.
#   1. encode speed and agreement of torch fp32 / torch bf16 autocast / OpenVINO fp32 / OpenVINO bf16 on
#      2 pinned cores (the workplace's machines have 2): benchmarks/bench_precision.py;
#   2. the whole XQuAD-R sentence tasks scored with OpenVINO bf16 on all cores, into $RESULTS, to compare with
#      the committed fp32 results (benchmarks/compare_precisions.py);
#   3. the shared evaluation of the three protocol-candidate settings against a bare encode of the same
#      distinct texts with OpenVINO bf16: benchmarks/bench_lareqa_eval.py (results kept in $RESULTS too).
# Needs xlr-bench[openvino], the converted me5-small and XLR_BENCH_DATA. Logs go to $LOGS (default: .).
set -uo pipefail
cd "$(dirname "$0")/.."
XLR=${XLR:-xlr-bench}
RESULTS=${RESULTS:-results}
LOGS=${LOGS:-.}
ARTICLES=${ARTICLES:-6}
SUBSETS=${SUBSETS:+--subsets $SUBSETS}  # e.g. SUBSETS=de,de-en for a rehearsal of step 2
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 PYTHONUNBUFFERED=1
mkdir -p "$LOGS"
{
  date -u +%FT%TZ
  lscpu | grep -E '^(Model name|CPU\(s\)|Thread|Core|Socket|L3)'
  printf 'bf16 flags: %s\n' "$(grep -o -w -E 'amx_bf16|amx_tile|amx_int8|avx512_bf16|avx512f' /proc/cpuinfo | sort -u | tr '\n' ' ')"
  python3 -c 'import openvino as ov, torch; print("openvino", ov.__version__, ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES"), "| torch", torch.__version__)'
} 2>&1 | tee "$LOGS/host.txt"

echo "== 1. encode, 2 pinned cores"
OMP_NUM_THREADS=2 taskset -c 0,1 python3 benchmarks/bench_precision.py --articles "$ARTICLES" \
  --options torch-fp32,torch-bf16,openvino-fp32,openvino-bf16 2>&1 | grep --line-buffered -v -E 'Batches|it/s\]' | tee "$LOGS/encode_2cores.txt"

echo "== 2. XQuAD-R sentence tasks, OpenVINO bf16, all cores"
start=$(date +%s)
$XLR evaluate me5-small $SUBSETS --device cpu --backend openvino --precision bf16 --batch-size 64 -o "$RESULTS" \
  -t XQuADRSentenceRetrieval,XQuADRSentenceMonolingualRetrieval,XQuADRSentenceCrossLingualRetrieval \
  > "$LOGS/sentence_tasks.log" 2>&1
echo "exit $?, $(( $(date +%s) - start )) s wall" | tee -a "$LOGS/sentence_tasks.log"

echo "== 3. protocol settings: shared evaluation vs bare encode, OpenVINO bf16, all cores"
python3 benchmarks/bench_lareqa_eval.py --model me5-small --backend openvino --precision bf16 --skip-unshared \
  --results "$RESULTS" 2>&1 | grep --line-buffered -v -E 'Batches|it/s\]|s/it\]' | tee "$LOGS/protocol_eval.txt"
