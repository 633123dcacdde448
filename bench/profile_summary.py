"""Summarise a py-spy ``--format raw`` profile (collapsed stacks): where the CPU goes.

Usage: ``.venv/bin/python bench/profile_summary.py PROFILE [--top N]``. Prints the share of
samples per thread, per *layer* (the innermost frame's package: SQLite writer, uvicorn,
Starlette, pitstop, ...), and the top functions by self and by inclusive samples. Idle frames
are not in the file (py-spy drops them unless ``--idle``), so shares are of CPU time.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter

LAYERS = [
    ("sqlite3", "sqlite (C calls)"),
    ("pitstop/storage", "pitstop storage"),
    ("pitstop/server", "pitstop server"),
    ("pitstop/", "pitstop other"),
    ("uvicorn/", "uvicorn"),
    ("httptools", "httptools"),
    ("starlette/", "starlette"),
    ("fastapi/", "fastapi"),
    ("prometheus_client", "prometheus"),
    ("orjson", "orjson"),
    ("redis/", "redis-py"),
    ("asyncio/", "asyncio"),
    ("uvloop", "uvloop"),
    ("json/", "json"),
    ("threading", "threading"),
    ("logging/", "logging"),
]
FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^:()]*)(?::(?P<line>\d+))?\)$")


def layer(frame: str) -> str:
    for needle, name in LAYERS:
        if needle in frame:
            return name
    return "other"


def parse(path: str) -> list[tuple[str, list[str], int]]:
    stacks = []
    with open(path) as f:
        for line in f:
            stack, _, count = line.rstrip("\n").rpartition(" ")
            thread, *frames = stack.split(";")
            name = thread.split("): ", 1)[-1].split(":", 1)[0]  # "pitstop-sqlite:/path" -> ...
            stacks.append((name, frames, int(count)))
    return stacks


def short(frame: str) -> str:
    m = FRAME.match(frame)
    if not m:
        return frame
    file = m["file"].split("site-packages/")[-1]
    return f"{m['func']} ({file})"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("profile")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    stacks = parse(args.profile)
    total = sum(n for _, _, n in stacks)
    threads: Counter[str] = Counter()
    layers: Counter[str] = Counter()
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    for thread, frames, n in stacks:
        threads[thread] += n
        if frames:
            layers[layer(frames[-1])] += n
            own[short(frames[-1])] += n
        for frame in {short(f) for f in frames}:
            inclusive[frame] += n

    def show(title: str, counter: Counter[str], top: int) -> None:
        print(f"\n{title}")
        for name, n in counter.most_common(top):
            print(f"  {100 * n / total:5.1f}%  {name}")

    print(f"{total} samples")
    show("threads", threads, 10)
    show("layers (innermost frame)", layers, 20)
    show("self", own, args.top)
    show("inclusive", inclusive, args.top)


if __name__ == "__main__":
    main()
