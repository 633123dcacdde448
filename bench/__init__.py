"""Benchmarks: pitstop against the official ``runpod`` SDK (and, later, peer servers/queues).

Run ``scripts/bench [names...]`` (or ``python -m bench``); see ``bench/README.md``. Every
benchmark is a function ``(Options) -> list[Row]`` registered by name in
``bench/__main__.py``; this module holds the shared types and the table printer.
"""

from __future__ import annotations

import os
import statistics
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field

OFFICIAL_DEFAULT = os.path.join(
    os.path.dirname(os.path.dirname(__file__)), ".venv-runpod/bin/python"
)


@dataclass
class Options:
    """Command-line settings shared by every benchmark."""

    quick: bool = False
    runs: int = 3
    impls: tuple[str, ...] = ("pitstop", "official")
    pitstop_python: str = sys.executable
    official_python: str = field(
        default_factory=lambda: os.environ.get("PITSTOP_OFFICIAL_PYTHON") or OFFICIAL_DEFAULT
    )
    verbose: bool = False

    def python(self, impl: str) -> str:
        return self.pitstop_python if impl == "pitstop" else self.official_python


@dataclass
class Row:
    """One measured figure: the median per implementation, and pitstop's target."""

    bench: str
    metric: str
    unit: str
    values: dict[str, float | None]
    higher_is_better: bool
    target: float | None = None
    samples: dict[str, list[float]] = field(default_factory=dict)

    def ratio(self) -> float | None:
        """How many times better pitstop is than the official SDK (>1 is better)."""
        ours, theirs = self.values.get("pitstop"), self.values.get("official")
        if not ours or not theirs:
            return None
        return ours / theirs if self.higher_is_better else theirs / ours

    def meets_target(self) -> bool | None:
        ours = self.values.get("pitstop")
        if ours is None or self.target is None:
            return None
        return ours >= self.target if self.higher_is_better else ours < self.target


def median(samples: Sequence[float]) -> float | None:
    return statistics.median(samples) if samples else None


def row(
    bench: str,
    metric: str,
    unit: str,
    samples: dict[str, list[float]],
    *,
    higher_is_better: bool,
    target: float | None = None,
) -> Row:
    """A Row from raw samples per implementation (medians taken here)."""
    values = {impl: median(vals) for impl, vals in samples.items()}
    return Row(bench, metric, unit, values, higher_is_better, target, samples)


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}"


def table(rows: Sequence[Row], *, markdown: bool = False) -> str:
    """The results as an aligned text table (or a Markdown table)."""
    header = ["benchmark", "metric", "pitstop", "official", "pitstop vs official", "target", "met"]
    lines = []
    for r in rows:
        ratio = r.ratio()
        met = r.meets_target()
        target = (
            "-" if r.target is None else ("≥ " if r.higher_is_better else "< ") + _fmt(r.target)
        )
        lines.append(
            [
                r.bench,
                f"{r.metric} ({r.unit})",
                _fmt(r.values.get("pitstop")),
                _fmt(r.values.get("official")),
                "-" if ratio is None else f"{ratio:,.1f}x",
                target,
                "-" if met is None else ("yes" if met else "NO"),
            ]
        )
    if markdown:
        out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        out += ["| " + " | ".join(cells) + " |" for cells in lines]
        return "\n".join(out)
    widths = [max(len(c[i]) for c in [header, *lines]) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(cells, widths, strict=True)).rstrip()
        for cells in [header, *lines]
    )
