"""The SIGTERM-under-load check behind check.sh: one real server process, closed-loop HTTP clients on fresh
connections, SIGTERM mid-load. Counts what clients got against what the server says it received."""
import argparse, http.client, json, os, re, signal, socket, subprocess, sys, threading, time

p = argparse.ArgumentParser()
p.add_argument("--dll", required=True)
p.add_argument("--clients", type=int, default=16)
p.add_argument("--load-seconds", type=float, default=8)
p.add_argument("--limit", type=float, default=10, help="seconds from SIGTERM to exit")
p.add_argument("--json", action="store_true")
p.add_argument("serve", nargs=argparse.REMAINDER, help="options after -- go to serve")
a = p.parse_args()
serve_args = [x for x in a.serve if x != "--"]

s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close()
log_path = f"/tmp/repshift-sigterm-{os.getpid()}.log"
log = open(log_path, "w")
proc = subprocess.Popen(["dotnet", a.dll, "serve", "--port", str(port), *serve_args], stdout=log, stderr=subprocess.STDOUT)

def get(path):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request("GET", path); r = c.getresponse(); body = r.read(); c.close()
    return r.status, body

start = time.time()
while True:
    if proc.poll() is not None: sys.exit(f"FAIL: the server exited ({proc.returncode}) before it was ready; see {log_path}")
    try:
        if get("/health/ready")[0] == 200: break
    except OSError: pass
    if time.time() - start > 300: proc.kill(); sys.exit("FAIL: not ready within 300 s")
    time.sleep(0.1)
ready_s = time.time() - start
models = [m["id"] for m in json.loads(get("/v1/models")[1])["data"]]
dims = {m["id"]: m["dimensions"] for m in json.loads(get("/health")[1])["models"]}

lock = threading.Lock()
counts = {"ok": 0, "ok_after_signal": 0, "shutting_down": 0, "refused": 0, "reset_before_answer": 0, "bad": 0}
bad = []
signalled = threading.Event(); stop = threading.Event()
texts = ["A man is playing a guitar on the stage.", "Two dogs run across a green field after a ball.",
         "The stock market fell sharply today as investors worried about rates.", "Someone slices an onion."]

def client(k):
    i = 0
    while not stop.is_set():
        model = models[(k + i) % len(models)]
        body = json.dumps({"input": texts[(k + i) % len(texts)] + f" ({k}.{i})", "model": model})
        i += 1
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        try:
            c.request("POST", "/v1/embeddings", body, {"Content-Type": "application/json", "Connection": "close"})
            r = c.getresponse(); data = r.read()
        except ConnectionRefusedError:
            with lock: counts["refused"] += 1
            time.sleep(0.01); continue
        except (ConnectionResetError, http.client.RemoteDisconnected, BrokenPipeError):
            # A connection the kernel took but the server closed without a byte of answer: counted, and checked below
            # against the server's own count of requests received.
            with lock: counts["reset_before_answer"] += 1
            time.sleep(0.01); continue
        except Exception as e:  # a truncated answer (IncompleteRead) or anything else
            with lock: bad.append(repr(e)); counts["bad"] += 1
            continue
        finally:
            c.close()
        try:
            j = json.loads(data)
            if r.status == 200 and len(j["data"][0]["embedding"]) == dims[model] and j["model"] == model:
                with lock:
                    counts["ok"] += 1
                    if signalled.is_set(): counts["ok_after_signal"] += 1
            elif r.status == 503 and j["error"]["code"] == "shutting_down":
                with lock: counts["shutting_down"] += 1
            else:
                with lock: bad.append(f"{r.status} {data[:200]!r}"); counts["bad"] += 1
        except Exception as e:
            with lock: bad.append(f"{r.status} unparsable {e!r} {data[:200]!r}"); counts["bad"] += 1

threads = [threading.Thread(target=client, args=(k,), daemon=True) for k in range(a.clients)]
for t in threads: t.start()
time.sleep(a.load_seconds)
metrics = get("/metrics")[1].decode()
queued = sum(float(v) for v in re.findall(r'^repshift_queue_depth\{[^}]*\} (\S+)$', metrics, re.M))
sent = time.time()
signalled.set()
proc.send_signal(signal.SIGTERM)
try:
    code = proc.wait(timeout=60)
except subprocess.TimeoutExpired:
    proc.kill(); code = None
exit_s = time.time() - sent
stop.set()
for t in threads: t.join(timeout=70)
log.close()
text = open(log_path).read()
m = re.search(r"stopped ([\d.]+) s after the signal: (\d+) of (\d+) embeddings requests received were answered", text)
answered, received = (int(m.group(2)), int(m.group(3))) if m else (None, None)
whole = counts["ok"] + counts["shutting_down"]
checks = {
    "exit code 0": code == 0,
    f"exit within {a.limit:g} s": code is not None and exit_s <= a.limit,
    "the server answered every request it received": m is not None and answered == received,
    "clients got a whole answer for every request received": received == whole,
    "no truncated or malformed answer": counts["bad"] == 0,
    "requests were queued at the signal and embedded after it": queued > 0 and counts["ok_after_signal"] > 0,
}
result = {"models": models, "clients": a.clients, "load_seconds": a.load_seconds, "ready_s": round(ready_s, 2),
          "queued_at_signal": queued, "exit_code": code, "exit_s": round(exit_s, 2), "server_received": received,
          "server_answered": answered, **counts, "passed": all(checks.values()), "checks": checks, "bad_examples": bad[:5]}
if a.json: print(json.dumps(result))
else:
    print(f"models {', '.join(models)}: ready in {ready_s:.1f} s; {a.clients} clients for {a.load_seconds:g} s; "
          f"{queued:g} queued at SIGTERM; exit {code} after {exit_s:.2f} s")
    print(f"server: {answered} of {received} received answered; clients: {counts['ok']} 200 ({counts['ok_after_signal']} after the signal), "
          f"{counts['shutting_down']} 503 shutting_down, {counts['refused']} refused (listener closed), "
          f"{counts['reset_before_answer']} closed before any answer, {counts['bad']} bad")
    for name, ok in checks.items(): print(f"  {'ok  ' if ok else 'FAIL'} {name}")
    print("PASSED" if result["passed"] else f"FAILED (server log: {log_path})")
sys.exit(0 if result["passed"] else 1)
