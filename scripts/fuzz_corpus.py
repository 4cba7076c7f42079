#!/usr/bin/env python3
"""Builds the fuzz targets' seed corpus in fuzz/corpus/<target>/ from the real recordings
in ../shared/data (never copied into the repository: the corpus folder is ignored by git
and rebuilt by this script), plus the hand-made inputs of fuzz/seeds/<target>/ and a few
generated hostile ones (nested far deeper than the decoders allow, frames longer than a
venue's bound, duplicated keys).

Decoder targets get single frames: a sample of every message shape of every file of the
venue (at most PER_FILE a file, spread over the file). The book target gets runs of
consecutive frames of one recording (its first byte picks the venue and kind, as
fuzz/src/lib.rs reads it), starting at the recording's snapshot where it has one.

Usage: scripts/fuzz_corpus.py [DATA_DIR]   (default ../shared/data, from the repo root)
"""

import gzip
import hashlib
import json
import os
import re
import shutil
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "..", "shared", "data")
CORPUS = os.path.join(ROOT, "fuzz", "corpus")
SEEDS = os.path.join(ROOT, "fuzz", "seeds")
PER_FILE = 150
RUN_FRAMES = 40
RUNS_PER_FILE = 6
VENUES = ["binance", "bybit", "okx", "hyperliquid"]
# The book target's selector byte: venue index (binance 0, bybit 1, okx 2, hyperliquid 3)
# plus 4 for perp.
SPOT, PERP = 0, 4

RECV_WS = re.compile(r"^\d+(\.\d+)?: (.*)$")
HTTP = re.compile(r"^\S+ -> \d+(\.\d+)?: (.*)$")


def frames_of(path):
    """The received payloads of one recording, in order."""
    name = os.path.basename(path)
    opener = gzip.open if name.endswith(".gz") else open
    if name.endswith(".zst"):
        return []
    if name.endswith(".json"):
        with open(path, encoding="utf-8") as f:
            return [json.dumps(json.load(f), separators=(",", ":"))]
    out = []
    with opener(path, "rt", encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                continue
            if name.endswith(".txt.gz"):
                _, _, payload = line.partition(" ")
                out.append(payload)
            elif name.endswith(".ws.log"):
                m = RECV_WS.match(line)
                if m:
                    out.append(m.group(2))
            elif name.endswith(".http.log"):
                m = HTTP.match(line)
                if m:
                    out.append(m.group(2))
            elif name.endswith(".jsonl") and '"t":"' in line[:40]:
                rec = json.loads(line)
                if rec.get("t") == "recv" and isinstance(rec.get("data"), str):
                    out.append(rec["data"])
            else:
                out.append(line)
    return out


def shape(frame):
    """A coarse message shape, so the sample keeps every kind of message."""
    keys = re.findall(r'"([A-Za-z_]{1,16})":', frame[:400])
    return " ".join(keys[:8])


def sample(frames, n):
    """At most `n` frames, every shape first, then spread over the file."""
    seen, picked = set(), []
    for i, frame in enumerate(frames):
        s = shape(frame)
        if s not in seen:
            seen.add(s)
            picked.append(i)
    step = max(1, len(frames) // max(1, n - len(picked)))
    picked += list(range(0, len(frames), step))
    return [frames[i] for i in sorted(set(picked))[:n]]


def write(target, data):
    folder = os.path.join(CORPUS, target)
    os.makedirs(folder, exist_ok=True)
    digest = hashlib.sha1(data).hexdigest()
    with open(os.path.join(folder, digest), "wb") as f:
        f.write(data)


def kind_of(path):
    name = os.path.basename(path)
    return SPOT if name.startswith("spot") else PERP


def book_runs(venue, path, frames):
    """Runs of consecutive frames, the first from the snapshot when there is one."""
    index = VENUES.index(venue)
    starts = [i for i, f in enumerate(frames) if f.startswith('{"lastUpdateId"')][:1]
    step = max(1, len(frames) // RUNS_PER_FILE)
    starts += list(range(0, len(frames), step))[:RUNS_PER_FILE]
    kinds = [kind_of(path)] if venue == "binance" else [SPOT, PERP]
    for start in starts:
        run = "\n".join(frames[start:start + RUN_FRAMES]).encode()
        for kind in kinds:
            write("book", bytes([index + kind]) + run)


def hostile(venue):
    """Generated inputs: far too deep, too long, duplicated keys."""
    deep = "[" * 30000 + "1" + "]" * 30000
    yield ('{"e":"bookTicker","x":' + deep + "}").encode()
    yield ('{"topic":"orderbook.50.BTCUSDT","data":{"b":' + deep + "}}").encode()
    yield ('{"arg":{"channel":"books","instId":"BTC-USDT"},"data":[' + deep + "]}").encode()
    yield ('{"channel":"l2Book","data":{"levels":' + deep + "}}").encode()
    yield ("{" * 40 + "}" * 40).encode()
    levels = ",".join('["%d.5","1"]' % (60000 + i) for i in range(20000))
    yield ('{"e":"depthUpdate","E":1,"s":"BTCUSDT","U":1,"u":2,"b":[' + levels + '],"a":[]}').encode()
    yield ('{"topic":"orderbook.50.BTCUSDT","type":"snapshot","ts":1,"data":{"s":"BTCUSDT","b":['
           + levels + '],"a":[],"u":1}}').encode()
    yield ('{"u":1,"s":"BTCUSDT","b":"2","b":"1","B":"1","a":"3","A":"1"}').encode()
    yield ('{"a":"' + "9" * 100000 + '"}').encode()


def main():
    if not os.path.isdir(DATA):
        sys.exit(f"no data folder at {DATA}: pass its path")
    shutil.rmtree(CORPUS, ignore_errors=True)
    counts = {}
    for venue in VENUES:
        folder = os.path.join(DATA, venue)
        for name in sorted(os.listdir(folder)):
            path = os.path.join(folder, name)
            frames = frames_of(path)
            for frame in sample(frames, PER_FILE):
                write(venue, frame.encode())
            if not name.endswith("literals.jsonl") and frames:
                book_runs(venue, path, frames)
        for data in hostile(venue):
            write(venue, data)
    for target in VENUES + ["book"]:
        hand = os.path.join(SEEDS, target)
        if os.path.isdir(hand):
            for name in sorted(os.listdir(hand)):
                with open(os.path.join(hand, name), "rb") as f:
                    write(target, f.read())
    for target in VENUES + ["book"]:
        folder = os.path.join(CORPUS, target)
        counts[target] = len(os.listdir(folder)) if os.path.isdir(folder) else 0
    print("corpus:", ", ".join(f"{t} {n}" for t, n in counts.items()), "in", CORPUS)


if __name__ == "__main__":
    main()
