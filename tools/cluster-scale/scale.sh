#!/usr/bin/env bash
# Node-count scaling on one machine (issue 18, acceptance 3): the same bulk job over the BBC articles (256 tokens),
# run in turn as an in-process job with one thread, on one `repshift node` with one thread, and on two such nodes
# (localhost clustering), the order rotating each round so load drifts hit every configuration alike. Nodes are
# started fresh for each run and are up (model loaded and verified) before the job's clock starts; each job's own
# summary gives docs/s. Prints one line per run and the ratios of the medians.
# Usage: tools/cluster-scale/scale.sh [input] [rounds] [shard-size]   (default: ../shared/data/bbc-news, 2, 50)
set -euo pipefail
cd "$(dirname "$0")/../.."
input=${1:-../shared/data/bbc-news}
rounds=${2:-2}
shard=${3:-50}
work=$(mktemp -d /tmp/repshift-scale-XXXXXX)
nodes=()
stop_nodes() { for p in "${nodes[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; nodes=(); }
trap 'stop_nodes; rm -rf "$work"' EXIT
./repshift --help > /dev/null # build once, before anything is timed
cli=(dotnet src/RepShift.Cli/bin/Release/net10.0/RepShift.Cli.dll)

start_node() { # $1 silo port, $2 gateway port, $3 log
  "${cli[@]}" node --threads 1 --port "$1" --gateway-port "$2" > "$3" 2>&1 & nodes+=($!)
  until grep -q "node up" "$3"; do
    kill -0 "${nodes[-1]}" 2>/dev/null || { cat "$3" >&2; echo "node on port $1 did not start" >&2; exit 1; }
    sleep 0.5
  done
}

run() { # $1 configuration, $2 round; prints "config docs/s texts seconds"
  local out=$work/$1-$2 summary
  case $1 in
    in-process) summary=$("${cli[@]}" job embed --input "$input" --output "$out" --shard-size "$shard" --threads 1 2> /dev/null) ;;
    1-node)
      start_node 11111 30000 "$work/$1-$2-node1.log"
      summary=$("${cli[@]}" job embed --input "$input" --output "$out" --shard-size "$shard" --cluster localhost --gateways 30000 2> /dev/null)
      stop_nodes ;;
    2-nodes)
      start_node 11111 30000 "$work/$1-$2-node1.log"
      start_node 11112 30001 "$work/$1-$2-node2.log"
      summary=$("${cli[@]}" job embed --input "$input" --output "$out" --shard-size "$shard" --cluster localhost --gateways 30000,30001 2> /dev/null)
      stop_nodes ;;
  esac
  rm -rf "$out"
  echo "$1 $(python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(d["docs_per_s"], d["texts_embedded"], d["seconds"])' "$summary")"
}

configs=(in-process 1-node 2-nodes)
echo "instruction sets: $(grep -o 'avx512[a-z0-9_]*\|avx_vnni\|fma' /proc/cpuinfo | sort -u | tr '\n' ' '); $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
for ((r = 0; r < rounds; r++)); do
  for ((i = 0; i < ${#configs[@]}; i++)); do
    c=${configs[(i + r) % ${#configs[@]}]}
    line=$(run "$c" "$r"); echo "round $r: $line (docs/s, texts, seconds)" >&2; echo "$line" >> "$work/runs"
  done
done
python3 - "$work/runs" <<'PY'
import sys, statistics, json
runs = {}
for line in open(sys.argv[1]):
    c, tps, *_ = line.split(); runs.setdefault(c, []).append(float(tps))
med = {c: statistics.median(v) for c, v in runs.items()}
print(json.dumps({"docs_per_s": med, "runs": runs,
                  "two_nodes_vs_one": med["2-nodes"] / med["1-node"],
                  "one_node_vs_in_process": med["1-node"] / med["in-process"]}))
PY
