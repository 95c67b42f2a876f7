#!/usr/bin/env python3
"""A bounded load generator for `qkv serve` (loopback only; every phase ends by itself).

Phases:
  1. steady:   CLIENTS closed-loop clients for WARMUP + DURATION s (only the last DURATION s are
               measured), each request 1-32 sentences of mixed
               length (prefixes and pairs of the 32 benchmark sentences `qkv bench embed` uses);
               throughput, latency p50/p95/p99, errors, and the server's RSS over the first and
               the last 10 s.
  2. overload: open-loop arrivals at FACTOR x the steady request rate for OVERLOAD s (at most
               MAX_OPEN requests open at once): counts of 200 / 429 / other, and how fast the
               429s come back.
  3. recovery: the closed-loop clients again for RECOVERY s: errors must be 0 again.
  4. sweep (with --sweep 1,4,16,64): the closed-loop load at each client count for SWEEP_SECONDS
               (after a short warm-up): throughput and latency vs concurrency, for the plots.
Every phase records the 1-minute load average of the machine (/proc/loadavg) beside its numbers.

Usage:
  benches/load/loadgen.py --url http://127.0.0.1:8080 --pid SERVER_PID [--json out.json]
  benches/load/loadgen.py --url URL --path /embeddings --model NAME --no-truncate ...   (a peer
      with OpenAI's route, e.g. Infinity: its model name, and no qkv-only `truncate` field)
  benches/load/loadgen.py --dump N FILE      (N sentences of the same distribution, one a line)
Needs aiohttp (scripts/ci_server.sh's venv has it).
"""

import argparse
import asyncio
import json
import random
import statistics
import sys
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[2]
BATCH = ROOT / "crates/encoder/tests/fixtures/bench/minilm_batch32.json"


def sentences():
    return json.loads(BATCH.read_text())["sentences"]


def make_request(rng, base, lo=1, hi=32):
    """1-32 sentences: a benchmark sentence, a prefix of one, or two joined."""
    out = []
    for _ in range(rng.randint(lo, hi)):
        s = rng.choice(base)
        r = rng.random()
        if r < 0.3:
            words = s.split()
            s = " ".join(words[: rng.randint(2, len(words))])
        elif r < 0.5:
            s = s + " " + rng.choice(base)
        out.append(s)
    return out


def rss_kib(pid):
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def pct(xs, p):
    if not xs:
        return None
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def load1():
    try:
        return float(Path("/proc/loadavg").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


# Where and how requests are sent (set from the command line).
TARGET = {"path": "/v1/embeddings", "model": "load", "truncate": True}


async def post(session, url, texts):
    body = {"input": texts, "model": TARGET["model"], "encoding_format": "base64"}
    if TARGET["truncate"]:
        body["truncate"] = True
    t = time.perf_counter()
    tokens = 0
    try:
        async with session.post(url + TARGET["path"], json=body) as r:
            data = await r.read()
            status = r.status
            if status == 200:
                doc = json.loads(data)
                tokens = (doc.get("usage") or {}).get("prompt_tokens") or 0
                if len(doc["data"]) != len(texts):
                    status = -2
    except (aiohttp.ClientError, asyncio.TimeoutError):
        status = -1
    return status, time.perf_counter() - t, tokens


async def closed_loop(session, url, clients, duration, rng_seed, base, warmup=0.0, by_start=False):
    """`clients` clients back to back for `warmup + duration` s. Returns the requests that
    ended inside the measured window (after the warm-up) and every failed one, and the
    window's length. With `by_start`, every request started in the window counts (each one
    ends, however long it takes)."""
    results = []  # (t_start, t_end, status, latency, sentences, tokens)
    t0 = time.perf_counter()
    begin, stop = t0 + warmup, t0 + warmup + duration

    async def client(i):
        rng = random.Random(rng_seed * 1000 + i)
        while time.perf_counter() < stop:
            texts = make_request(rng, base)
            start = time.perf_counter()
            status, lat, tokens = await post(session, url, texts)
            results.append((start, time.perf_counter(), status, lat, len(texts), tokens))

    await asyncio.gather(*(client(i) for i in range(clients)))
    inside = [begin <= r[0] <= stop if by_start else begin <= r[1] <= stop for r in results]
    window = [r[2:] for r, i in zip(results, inside) if i]
    # Errors count wherever they happen.
    errors = [r[2:] for r, i in zip(results, inside) if r[2] != 200 and not i]
    return window + errors, duration


async def sample_rss(pid, samples, stop_event):
    t0 = time.perf_counter()
    while not stop_event.is_set():
        samples.append((time.perf_counter() - t0, rss_kib(pid)))
        try:
            await asyncio.wait_for(stop_event.wait(), 1.0)
        except asyncio.TimeoutError:
            pass


def summarize(results, secs):
    """Results are (status, latency, sentences, tokens) of the requests inside the window."""
    ok = [r for r in results if r[0] == 200]
    lat = [r[1] for r in ok]
    return {
        "requests": len(results),
        "ok": len(ok),
        "errors": len(results) - len(ok),
        "seconds": round(secs, 2),
        "sentences_per_s": round(sum(r[2] for r in ok) / secs, 1),
        "tokens_per_s": round(sum(r[3] for r in ok) / secs, 1),
        "requests_per_s": round(len(ok) / secs, 2),
        "p50_ms": round(1000 * pct(lat, 50), 1) if lat else None,
        "p95_ms": round(1000 * pct(lat, 95), 1) if lat else None,
        "p99_ms": round(1000 * pct(lat, 99), 1) if lat else None,
        "mean_sentences_per_request": round(statistics.mean(r[2] for r in results), 2) if results else None,
    }


async def overload(session, url, rate, duration, max_open, base):
    rng = random.Random(7)
    results = []
    open_tasks = set()
    skipped = 0

    async def one(texts):
        status, lat, _ = await post(session, url, texts)
        results.append((status, lat))

    t0 = time.perf_counter()
    k = 0
    while True:
        now = time.perf_counter() - t0
        if now >= duration:
            break
        due = int(now * rate)
        while k < due:
            k += 1
            if len(open_tasks) >= max_open:
                skipped += 1
                continue
            t = asyncio.create_task(one(make_request(rng, base)))
            open_tasks.add(t)
            t.add_done_callback(open_tasks.discard)
        await asyncio.sleep(0.005)
    if open_tasks:
        await asyncio.wait(open_tasks, timeout=120)
    by = {}
    for s, _ in results:
        by[s] = by.get(s, 0) + 1
    l429 = [l for s, l in results if s == 429]
    l200 = [l for s, l in results if s == 200]
    return {
        "arrival_rate_per_s": round(rate, 2),
        "seconds": duration,
        "sent": len(results),
        "not_sent_client_cap": skipped,
        "status_counts": {str(k): v for k, v in sorted(by.items())},
        "429_p50_ms": round(1000 * pct(l429, 50), 1) if l429 else None,
        "429_p99_ms": round(1000 * pct(l429, 99), 1) if l429 else None,
        "200_p50_ms": round(1000 * pct(l200, 50), 1) if l200 else None,
        "200_p99_ms": round(1000 * pct(l200, 99), 1) if l200 else None,
    }


async def sweep(session, url, counts, seconds, warmup, base):
    """The closed-loop load at each client count: throughput and latency vs concurrency."""
    out = []
    for n in counts:
        before = load1()
        results, secs = await closed_loop(session, url, n, seconds, 3 + n, base, warmup)
        row = {"clients": n, **summarize(results, secs), "load1_before": before, "load1_after": load1()}
        print(json.dumps({"sweep": row}), file=sys.stderr, flush=True)
        out.append(row)
    return out


async def main(a):
    TARGET.update(path=a.path, model=a.model, truncate=not a.no_truncate)
    base = sentences()
    timeout = aiohttp.ClientTimeout(total=120)
    conn = aiohttp.TCPConnector(limit=a.max_open + a.clients)
    async with aiohttp.ClientSession(timeout=timeout, connector=conn) as session:
        rss = []
        stop = asyncio.Event()
        sampler = asyncio.create_task(sample_rss(a.pid, rss, stop)) if a.pid else None
        load_before = load1()
        results, secs = await closed_loop(session, a.url, a.clients, a.duration, 1, base, a.warmup)
        load_after = load1()
        stop.set()
        if sampler:
            await sampler
        steady = summarize(results, secs)
        steady["load1_before"], steady["load1_after"] = load_before, load_after
        # RSS over the first and the last 10 s of the measured window (after the warm-up).
        first = [r for t, r in rss if r is not None and a.warmup <= t <= a.warmup + 10]
        last = [r for t, r in rss if r is not None and a.warmup + secs - 10 <= t <= a.warmup + secs]
        if first and last:
            steady["rss_first_10s_mib"] = round(statistics.mean(first) / 1024, 1)
            steady["rss_last_10s_mib"] = round(statistics.mean(last) / 1024, 1)
            steady["rss_growth_pct"] = round(100 * (statistics.mean(last) / statistics.mean(first) - 1), 2)
        report = {"clients": a.clients, "steady": steady}
        print(json.dumps({"steady": steady}), file=sys.stderr, flush=True)
        if a.overload > 0:
            rate = a.factor * max(steady["requests_per_s"], 0.5)
            report["overload"] = await overload(session, a.url, rate, a.overload, a.max_open, base)
            print(json.dumps({"overload": report["overload"]}), file=sys.stderr, flush=True)
            report["overload"]["load1_after"] = load1()
            t = time.perf_counter()
            results, _ = await closed_loop(session, a.url, a.clients, a.recovery, 2, base, 0, True)
            report["recovery"] = summarize(results, time.perf_counter() - t)
            report["recovery"]["load1_after"] = load1()
        if a.sweep:
            counts = [int(c) for c in a.sweep.split(",")]
            report["sweep"] = await sweep(session, a.url, counts, a.sweep_seconds, a.sweep_warmup, base)
    print(json.dumps(report, indent=2))
    if a.json:
        Path(a.json).write_text(json.dumps(report, indent=2) + "\n")
    bad = steady["errors"] or (a.overload > 0 and report["recovery"]["errors"])
    return 1 if bad else 0


def dump(n, path):
    """Writes `n` sentences of the load's distribution, one per line (for `qkv embed`)."""
    rng, base, out = random.Random(5), sentences(), []
    while len(out) < n:
        out.extend(make_request(rng, base))
    Path(path).write_text("\n".join(out[:n]) + "\n")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--dump"]:
        dump(int(sys.argv[2]), sys.argv[3])
        sys.exit(0)
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--url", required=True)
    p.add_argument("--pid", type=int, help="server process, for its RSS")
    p.add_argument("--clients", type=int, default=64)
    p.add_argument("--duration", type=float, default=30, help="measured seconds of steady load")
    p.add_argument("--warmup", type=float, default=10, help="seconds of the same load before measuring")
    p.add_argument("--overload", type=float, default=10, help="seconds of overload (0: none)")
    p.add_argument("--factor", type=float, default=4.0)
    p.add_argument("--recovery", type=float, default=10)
    p.add_argument("--max-open", type=int, default=1024)
    p.add_argument("--sweep", help="client counts for the concurrency sweep, e.g. 1,4,16,64")
    p.add_argument("--sweep-seconds", type=float, default=10)
    p.add_argument("--sweep-warmup", type=float, default=3)
    p.add_argument("--path", default="/v1/embeddings", help="the OpenAI-style embeddings route")
    p.add_argument("--model", default="load", help="the `model` field sent")
    p.add_argument("--no-truncate", action="store_true", help="omit qkv's `truncate` field")
    p.add_argument("--json")
    a = p.parse_args()
    if not a.url.startswith(("http://127.", "http://localhost", "http://[::1]")):
        sys.exit("loadgen: loopback addresses only")
    sys.exit(asyncio.run(main(a)))
