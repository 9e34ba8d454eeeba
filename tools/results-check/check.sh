#!/usr/bin/env bash
# Re-runs the deterministic figures docs/RESULTS.md quotes (correctness, quality, work shares, scratch bytes)
# and fails when a result no longer matches the figure printed there. Timings are not checked: they are
# measurements of a noisy machine, not facts about the code. Needs ../shared/data (SICK, BBC News); each
# check that lacks its data or machine is skipped with a message.
set -euo pipefail
cd "$(dirname "$0")/../.."
results=docs/RESULTS.md
data=../shared/data
failed=0

# field FILE KEY: a number from the one-line JSON object a command printed.
field() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }
# expect LABEL VALUE FORMAT TEMPLATE: the value, formatted and put in its context ({} in TEMPLATE), must appear in RESULTS.md.
expect() {
  local shown
  shown=$(python3 -c 'import sys; print(sys.argv[3].replace("{}", format(float(sys.argv[1]), sys.argv[2])))' "$2" "$3" "$4")
  if grep -qF -- "$shown" "$results"; then echo "ok: $1 = $shown"; else echo "MISMATCH: $1 = $shown is not the figure in $results"; failed=1; fi
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

./repshift verify --json > "$tmp/verify.json"   # exits 1 itself on any id difference or numeric miss
if [[ $(field "$tmp/verify.json" token_id_differences) == 0 ]]; then echo "ok: verify, 0 token id differences"
else echo "MISMATCH: verify reports token id differences"; failed=1; fi

if [[ -f $data/sick/SICK.txt && -d $data/bbc-news ]]; then
  ./repshift eval sts --data $data/sick/SICK.txt --format sick --json > "$tmp/sts.json"
  expect "SICK Spearman" "$(field "$tmp/sts.json" spearman)" .4f "({})"
  ./repshift eval retrieval --data $data/bbc-news --format headlines --json > "$tmp/bbc.json" 2> /dev/null
  expect "BBC MRR@10" "$(field "$tmp/bbc.json" mrr10)" .4f "({})"
  expect "BBC recall@1" "$(field "$tmp/bbc.json" recall1)" .2f 'recall@1 **{}**'
  expect "BBC recall@10" "$(field "$tmp/bbc.json" recall10)" .2f 'recall@10 **{}**'
  ./repshift eval retrieval --data $data/bbc-news --format headlines --preset balanced --json > "$tmp/balanced.json" 2> /dev/null
  expect "BBC MRR@10, balanced" "$(field "$tmp/balanced.json" mrr10)" .2f '| {} (−'
  expect "BBC work share, balanced (%)" "$(python3 -c "print(100*$(field "$tmp/balanced.json" token_layers)/$(field "$tmp/bbc.json" token_layers))")" .0f '{} % of the dense token-layer work'
  # arctic-embed-xs's own balanced preset (issue 17, acceptance 3).
  ./repshift eval retrieval --model arctic-embed-xs --data $data/bbc-news --format headlines --preset balanced --json > "$tmp/arctic-balanced.json" 2> /dev/null
  expect "arctic BBC MRR@10, balanced" "$(field "$tmp/arctic-balanced.json" mrr10)" .2f 'MRR@10 **{}** (−0.23)'
  expect "arctic BBC recall@1, balanced" "$(field "$tmp/arctic-balanced.json" recall1)" .2f 'recall@1 {}, recall@10'
else
  echo "skipped: quality figures ($data with SICK and BBC News is not beside this checkout)"
fi

# Scratch bytes depend on the thread count: the quoted run had 2 threads. N = 128 is left out (whether a worker
# overlaps the caller on a dozen tiny items is timing, not code).
if [[ $(nproc) == 2 ]]; then
  ./repshift bench attention --lengths 512,2048 --repetitions 3 --json > "$tmp/attention.json" 2> /dev/null
  for n in 512 2048; do
    for kernel in flash naive; do
      bytes=$(python3 -c 'import json,sys; print(next(l for l in json.load(open(sys.argv[1]))["lengths"] if l["n"]==int(sys.argv[2]))[sys.argv[3]+"_extra_bytes"])' "$tmp/attention.json" $n $kernel)
      expect "attention N=$n $kernel extra bytes" "$bytes" .0f "\"${kernel}_extra_bytes\":{}"
    done
  done
else
  echo "skipped: attention scratch bytes (the quoted run used 2 threads; this machine has $(nproc))"
fi

if [[ -d /usr/share/datasets/fashion-mnist && -d models/fashion-vit-p4 ]]; then
  ./repshift eval images --data /usr/share/datasets/fashion-mnist --batch 250 --json > "$tmp/images.json" 2> /dev/null
  expect "Fashion-MNIST top-1 (%)" "$(python3 -c 'import json,sys; print(100*json.load(open(sys.argv[1]))["results"][0]["top1"])' "$tmp/images.json")" .2f '**{} % top-1'
else
  echo "skipped: Fashion-MNIST (apt-get install dataset-fashion-mnist; model in models/fashion-vit-p4)"
fi

if [[ $failed != 0 ]]; then echo "results-check: FAIL (docs/RESULTS.md quotes figures the code no longer gives)"; exit 1; fi
echo "results-check: PASS"
