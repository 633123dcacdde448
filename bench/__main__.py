"""``python -m bench [names...] [--quick] [--runs N] [--only pitstop|official]``.

The registry below is the one place benchmarks are named: ``name -> "module:function"``,
each function taking :class:`bench.Options` and returning a list of :class:`bench.Row`.
Modules load only when one of their benchmarks is selected, so adding server or Redis
benchmarks does not slow down the worker ones.
"""

from __future__ import annotations

import argparse
import importlib
import json
import platform
import sys
import time
from collections.abc import Callable

from bench import Options, Row, table

REGISTRY: dict[str, str] = {
    "import": "bench.worker_bench:bench_import",
    "cold_start": "bench.worker_bench:bench_cold_start",
    "noop": "bench.worker_bench:bench_noop",
    "async16": "bench.worker_bench:bench_async16",
    "plain4": "bench.worker_bench:bench_plain4",
    "generator": "bench.worker_bench:bench_generator",
    "refresh": "bench.worker_bench:bench_refresh",
    "rss": "bench.worker_bench:bench_rss",
    "big_input": "bench.worker_bench:bench_big_input",
    "big_output": "bench.worker_bench:bench_big_output",
    "redis": "bench.redis_bench:bench_redis",
    "console": "bench.console_bench:bench_console",
}


def _load(spec: str) -> Callable[[Options], list[Row]]:
    module, _sep, name = spec.partition(":")
    fn: Callable[[Options], list[Row]] = getattr(importlib.import_module(module), name)
    return fn


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "names", nargs="*", help=f"benchmarks to run (default all): {', '.join(REGISTRY)}"
    )
    parser.add_argument("--quick", action="store_true", help="fewer jobs and runs (about a minute)")
    parser.add_argument(
        "--runs", type=int, default=None, help="runs per figure (median; default 3, quick 1)"
    )
    parser.add_argument(
        "--only", choices=["pitstop", "official"], help="measure one implementation"
    )
    parser.add_argument("--json", metavar="PATH", help="also write raw samples as JSON")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in REGISTRY]
    if unknown:
        parser.error(f"unknown benchmark(s) {unknown}; choose from {list(REGISTRY)}")
    opts = Options(
        quick=args.quick,
        runs=args.runs or (1 if args.quick else 3),
        impls=(args.only,) if args.only else ("pitstop", "official"),
        verbose=args.verbose,
    )
    print(
        f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} | nproc "
        f"{__import__('os').cpu_count()} | python {platform.python_version()} | "
        f"runs {opts.runs}{' | quick' if opts.quick else ''}",
        flush=True,
    )
    rows: list[Row] = []
    for name in args.names or list(REGISTRY):
        started = time.perf_counter()
        new = _load(REGISTRY[name])(opts)
        rows += new
        print(table(new).split("\n", 1)[1], f"  [{time.perf_counter() - started:.1f}s]", flush=True)
    print()
    print(table(rows, markdown=args.markdown))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump([r.__dict__ for r in rows], out, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
