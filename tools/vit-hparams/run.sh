#!/bin/bash
# Usage (on a machine with a CUDA GPU and PyTorch): DATA=/path/to/fashion-mnist OUT=/tmp/out LIMIT=450 tools/vit-hparams/run.sh round1.jsonl
# Starts every config of the file at once on the GPU; each writes one JSON line per epoch to $OUT/results.jsonl.
# LIMIT (seconds) stops every run at that wall time; the figures in docs/RESULTS.md are those reached by then.
set -u
cd "$(dirname "$0")"
R=$OUT/results.jsonl; : > "$R"
i=0
while read -r cfg; do
  [ -z "$cfg" ] && continue
  i=$((i+1))
  timeout "${LIMIT:-470}" python3 sweep.py "$(echo "$cfg" | sed 's#}$#, "data": "'"$DATA"'"}#')" "$R" > "$OUT/log$i.txt" 2>&1 &
done < "$1"
wait
