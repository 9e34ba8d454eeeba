#!/usr/bin/env bash
# Fault check of `serve --cluster` on PostgreSQL membership with real processes: PostgreSQL (tools/postgres/setup.sh),
# two `repshift node --cluster CONN` processes, `repshift serve --cluster CONN`; requests all along while one node is
# killed with kill -9 and later restarted. Passes (exit 0) only when every request was answered 200 and every vector
# equals what a local `repshift embed` gives for that text, bit for bit.
# Usage: tools/cluster-pg/check.sh [seconds-per-phase]   (default 20)
set -euo pipefail
cd "$(dirname "$0")/../.."
phase=${1:-20}
work=$(mktemp -d /tmp/repshift-cluster-pg-XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
conn=$(tools/postgres/setup.sh)
./repshift --help > /dev/null # build once, before the processes start
cli="dotnet src/RepShift.Cli/bin/Release/net10.0/RepShift.Cli.dll"
wait_for() { # file, text, seconds
  for _ in $(seq 1 "$3"); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 1; done
  echo "timed out waiting for '$2' in $1:" >&2; cat "$1" >&2; exit 1
}
start_node() { # n
  $cli node --threads 1 --cluster "$conn" --port $((11130 + $1)) --gateway-port $((30030 + $1)) > "$work/node$1.log" 2>&1 &
  pids+=($!); eval "node$1=$!"
  wait_for "$work/node$1.log" "node up" 120
}
start_node 1
start_node 2
$cli serve --cluster "$conn" --threads 1 --port 18093 --cluster-timeout 60 > "$work/serve.log" 2>&1 & pids+=($!)
wait_for "$work/serve.log" "serving" 120
echo "nodes $node1, $node2 and the front end are up (membership in PostgreSQL)" >&2

# The texts and their vectors from a local engine: the reference every answer must equal.
sed -n "2,65p" ../shared/data/sick/SICK.txt | cut -f2 > "$work/texts.txt" # not head: with pipefail its early exit fails the pipe
$cli embed --input "$work/texts.txt" --output "$work/reference.jsonl" --threads 1 2> /dev/null

python3 - "$work" "$phase" "$node2" <<'PY' &
import json, os, signal, struct, subprocess, sys, threading, time, urllib.request, urllib.error
work, phase = sys.argv[1], float(sys.argv[2])
texts = open(f"{work}/texts.txt", encoding="utf-8").read().splitlines()
f32 = lambda v: [struct.unpack("f", struct.pack("f", x))[0] for x in v]
reference = [f32(json.loads(l)["embedding"]) for l in open(f"{work}/reference.jsonl")]
results, lock, stop = [], threading.Lock(), threading.Event()
def client(k):
    i = k
    while not stop.is_set():
        idx = [(i * 3 + j) % len(texts) for j in range(3)]
        body = json.dumps({"input": [texts[j] for j in idx]}).encode()
        req = urllib.request.Request("http://127.0.0.1:18093/v1/embeddings", body, {"Content-Type": "application/json"})
        t = time.time()
        try:
            with urllib.request.urlopen(req, timeout=120) as r:
                data = json.load(r)["data"]; code = r.status
                ok = all(f32(d["embedding"]) == reference[j] for d, j in zip(data, idx))
        except urllib.error.HTTPError as e:
            code, ok = e.code, False
            print(f"HTTP {e.code}: {e.read()[:300]!r}", file=sys.stderr)
        with lock: results.append((phase_name[0], code, ok, time.time() - t))
        i += 4
phase_name = ["both nodes"]
threads = [threading.Thread(target=client, args=(k,)) for k in range(4)]
for t in threads: t.start()
time.sleep(phase)
phase_name[0] = "one node killed"
open(f"{work}/kill", "w").close()
while not os.path.exists(f"{work}/restarted"): time.sleep(0.2)
phase_name[0] = "node restarted"
time.sleep(phase)
stop.set()
for t in threads: t.join()
bad = 0
for name in ["both nodes", "one node killed", "node restarted"]:
    rs = [r for r in results if r[0] == name]
    fails = [r for r in rs if r[1] != 200 or not r[2]]
    bad += len(fails)
    print(f"{name}: {len(rs)} requests, {len(rs) - len(fails)} answered 200 with the reference vectors, slowest {max(r[3] for r in rs):.2f} s")
sys.exit(1 if bad else 0)
PY
checker=$!
until [[ -e "$work/kill" ]]; do sleep 0.2; done
kill -9 "$node2"
echo "killed node 2 (pid $node2) with kill -9" >&2
sleep "$phase"
start_node 2
echo "restarted node 2 (pid $node2)" >&2
touch "$work/restarted"
if wait "$checker"; then
  echo "PASS: every request answered 200 with vectors equal to a local engine's"
else
  echo "FAIL" >&2; tail -n 20 "$work/serve.log" >&2; exit 1
fi
