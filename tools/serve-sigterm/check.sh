#!/usr/bin/env bash
# SIGTERM under load on a real `repshift serve` process (issue 18, acceptance 5): clients keep requests in flight,
# the server gets SIGTERM, and the check passes only if every embeddings request the server received got a whole
# answer (200 with its vector, or a 503 shutting_down JSON error), those queued at the signal were embedded, the
# process exited 0, and it did so within the limit (default 10 s). Builds Release first (through ./repshift).
# Usage: tools/serve-sigterm/check.sh [--clients N] [--load-seconds S] [--limit S] [--json] [-- serve options...]
# Example: tools/serve-sigterm/check.sh --clients 16 --load-seconds 8 -- --model all-MiniLM-L6-v2 --threads 2
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
"$root/repshift" --version >/dev/null
exec python3 "$root/tools/serve-sigterm/check.py" --dll "$root/src/RepShift.Cli/bin/Release/net10.0/RepShift.Cli.dll" "$@"
