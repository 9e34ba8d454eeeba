#!/usr/bin/env bash
# Fault check on real processes: two `repshift node` processes on this machine (localhost clustering), a bulk job
# leased to both, one node killed with kill -9 mid-job. Passes when the job still finishes with every input line
# exactly once (ids 0..N-1) and the vectors equal an in-process `job embed` of the same input.
# Usage: tools/cluster-fault/kill-node.sh [lines-file] [shard-size]   (default: 2,000 SICK sentences, shards of 25)
set -euo pipefail
cd "$(dirname "$0")/../.."
work=$(mktemp -d /tmp/repshift-fault-XXXXXX)
nodes=()
cleanup() { for p in "${nodes[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
input=${1:-}
if [[ -z $input ]]; then
  input=$work/in.txt
  # sed, not tail | head: with pipefail, head closing the pipe early (SIGPIPE) failed the script
  sed -n "2,2001p" ../shared/data/sick/SICK.txt | cut -f2 > "$input"
fi
shard=${2:-25}
./repshift --help > /dev/null # build once, before the nodes start
dotnet src/RepShift.Cli/bin/Release/net10.0/RepShift.Cli.dll node --threads 1 > "$work/node1.log" 2>&1 & nodes+=($!)
sleep 8 # the primary node first: the second joins through it
dotnet src/RepShift.Cli/bin/Release/net10.0/RepShift.Cli.dll node --threads 1 --port 11112 --gateway-port 30001 > "$work/node2.log" 2>&1 & nodes+=($!)
victim=$!
sleep 8
./repshift job embed --input "$input" --output "$work/cluster" --shard-size "$shard" --cluster localhost --gateways 30000,30001 \
  --lease-timeout 60 > "$work/summary.json" 2> "$work/job.log" &
job=$!
# Kill the second node once a few shards are done.
until [[ $(ls "$work/cluster"/shard-*.parquet 2>/dev/null | wc -l) -ge 6 ]]; do sleep 0.5; done
kill -9 "$victim"
echo "killed node pid $victim after $(ls "$work/cluster"/shard-*.parquet | wc -l) shards" >&2
wait "$job"
cat "$work/summary.json"
grep -c "returned to the queue" "$work/job.log" | sed 's/^/shards returned to the queue: /' >&2 || true
./repshift job embed --input "$input" --output "$work/local" --shard-size "$shard" --threads 1 > /dev/null 2>&1
# Compare: same ids in the same order, bit-identical vectors (the Parquet files hold the same rows).
python3 - "$work" <<'PY' || { echo "pyarrow missing: compare with cmp instead" >&2; for f in "$work"/local/shard-*.parquet; do cmp "$f" "$work/cluster/$(basename "$f")"; done; echo "all shard files byte-identical"; }
import sys, glob, pyarrow.parquet as pq
w = sys.argv[1]
def rows(d):
    out = []
    for f in sorted(glob.glob(f"{w}/{d}/shard-*.parquet")):
        t = pq.read_table(f).to_pydict(); out += list(zip(t["id"], t["embedding"]))
    return out
a, b = rows("cluster"), rows("local")
assert [i for i, _ in a] == [str(k) for k in range(len(b))], "ids differ"
assert a == b, "vectors differ"
print(f"{len(a)} ids exactly once, vectors equal to the in-process job")
PY
