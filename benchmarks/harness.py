"""Timing harness for ``make bench``: workloads, adaptive median timing, a Markdown table.

A workload is a set of zero-argument callables ("candidates") that each do the same work
one way (autograd_lite, NumPy by hand, PyTorch, HIPS autograd). All candidates of all
workloads are timed in one run, so the ratios compare like with like on this machine at
this moment; absolute numbers from different runs are not comparable.
"""

from __future__ import annotations

import gc
import math
import statistics
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

ENGINE = "autograd_lite"
COMPILED = "ag.compile"  # the same step as ENGINE, traced once and replayed (issue 13)
NUMPY = "numpy by hand"
TORCH = "pytorch"
HIPS = "hips autograd"
JAX = "jax"
JAX_JIT = "jax.jit"
CANDIDATES = (ENGINE, COMPILED, NUMPY, TORCH, HIPS, JAX, JAX_JIT)
# Ratios are always one of ours over a reference measured in the same run: the eager
# engine against every peer, the compiled replay against NumPy by hand and PyTorch.
RATIOS = ((ENGINE, NUMPY), (ENGINE, TORCH), (ENGINE, HIPS), (ENGINE, JAX), (ENGINE, JAX_JIT),
          (COMPILED, NUMPY), (COMPILED, TORCH))

UNIT_SCALE = {"us/op": 1e6, "ms": 1e3, "s": 1.0}
MAX_SAMPLES = 1000
ROUNDS = 3  # each candidate's samples come in this many blocks, interleaved
SETTLE_BELOW_S = 0.05  # calls shorter than this get an untimed call before each block


@dataclass
class Workload:
    """One benchmark row: the same work done by each candidate.

    ``candidates`` maps a name from ``CANDIDATES`` to a zero-argument callable doing one
    unit of work, or to None when that candidate cannot run here (shown as "n/a").
    The measured time of one call is divided by ``per`` (e.g. 200 ops in one call).
    Before timing, each candidate is called once and whatever arrays it returns are
    checked against autograd_lite's to ``rtol`` (relative to the largest magnitude), so
    every candidate provably does the same work; a candidate returning None is not
    compared. ``metrics`` is run once, outside the timed loop, for measurements that
    are not times (e.g. traced memory per op); it returns label -> formatted value.
    ``note`` is printed below the table (e.g. why a candidate is n/a).
    """

    id: str
    title: str
    unit: str
    candidates: dict[str, Callable[[], object] | None]
    per: int = 1
    min_samples: int = 5
    rtol: float = 1e-9
    metrics: Callable[[], dict[str, str]] | None = None
    note: str = ""

    def __post_init__(self) -> None:
        if self.unit not in UNIT_SCALE:
            raise ValueError(f"{self.id}: unit {self.unit!r} is not one of {list(UNIT_SCALE)}")
        unknown = set(self.candidates) - set(CANDIDATES)
        if unknown:
            raise ValueError(f"{self.id}: unknown candidate names {sorted(unknown)}")


@dataclass
class Result:
    """Medians of one workload in its unit (None = n/a) and its extra metrics."""

    workload: Workload
    medians: dict[str, float | None]
    samples: dict[str, int]
    metrics: dict[str, str] = field(default_factory=dict)

    def ratio(self, reference: str, ours: str = ENGINE) -> float | None:
        """``ours``'s median over ``reference``'s, or None when either is missing."""
        mine, theirs = self.medians.get(ours), self.medians.get(reference)
        if mine is None or theirs is None:
            return None
        return mine / theirs


@dataclass
class _Timer:
    """One candidate being timed: what its first call returned, calls per sample,
    samples wanted and samples so far."""

    fn: Callable[[], object]
    first_output: list[np.ndarray] | None
    estimate: float
    loops: int
    wanted: int
    samples: list[float] = field(default_factory=list)

    def block(self, count: int) -> None:
        """Take ``count`` samples in a row, each the mean seconds of ``loops`` calls.

        A short call is preceded by one untimed call: the previous candidate may have
        left its library's worker threads spinning (OpenMP, OpenBLAS), and on a small
        machine they would otherwise steal the first sample's core.
        """
        fn, loops = self.fn, self.loops
        gc.collect()  # garbage left by the previous candidate is not billed to this one
        if self.estimate < SETTLE_BELOW_S:
            fn()
        for _ in range(count):
            start = time.perf_counter()
            for _ in range(loops):
                fn()
            self.samples.append((time.perf_counter() - start) / loops)


def _calibrate(fn: Callable[[], object], budget_s: float, min_samples: int) -> _Timer:
    """Warm ``fn`` up and decide how to sample it within ``budget_s``.

    The first call pays for caches and lazy imports, estimates the duration, and its
    output (copied) is kept for the cross-candidate check; more warm-up calls follow
    for a tenth of the budget unless that one call took longer. Calls shorter than a
    millisecond are batched inside one sample so the clock's resolution does not matter.
    """
    start = time.perf_counter()
    output = fn()
    estimate = max(time.perf_counter() - start, 1e-9)
    first_output = None if output is None else _as_arrays(output)
    warm_start, warm_calls = time.perf_counter(), 0
    while time.perf_counter() < start + 0.1 * budget_s:
        fn()
        warm_calls += 1
    if warm_calls:  # warm calls tell the steady duration; the first one may be far slower
        estimate = (time.perf_counter() - warm_start) / warm_calls
    loops = max(1, math.ceil(1e-3 / estimate))
    wanted = min(MAX_SAMPLES, max(min_samples, int(budget_s / (estimate * loops))))
    return _Timer(fn, first_output, estimate, loops, wanted)


def _sample_interleaved(timers: Iterable[_Timer]) -> None:
    """Take every timer's wanted samples in a few rounds, each visiting every candidate
    in turn, so a change in background load during the run hits all of them alike and
    their ratios stay meaningful."""
    timers = list(timers)
    rounds = min(ROUNDS, min((t.wanted for t in timers), default=1))
    for r in range(rounds):
        for t in timers:
            # Spread t.wanted samples over the rounds as evenly as integers allow.
            t.block(t.wanted * (r + 1) // rounds - t.wanted * r // rounds)


def measure(workload: Workload, budget_s: float = 0.75, min_samples: int | None = None) -> Result:
    """Warm up and check the candidates, time them, and run the workload's extra metrics.

    Each candidate gets about ``budget_s`` of samples, never fewer than ``min_samples``
    (default: the workload's own ``min_samples``). Medians are in the workload's unit.
    """
    floor = workload.min_samples if min_samples is None else min_samples
    timers = {name: _calibrate(fn, budget_s, floor)
              for name, fn in workload.candidates.items() if fn is not None}
    _verify(workload, {name: t.first_output for name, t in timers.items()})
    _sample_interleaved(timers.values())
    scale = UNIT_SCALE[workload.unit] / workload.per
    medians = {name: (statistics.median(timers[name].samples) * scale if name in timers
                      else None) for name in workload.candidates}
    counts = {name: len(t.samples) for name, t in timers.items()}
    metrics = workload.metrics() if workload.metrics is not None else {}
    return Result(workload, medians, counts, metrics)


def _verify(workload: Workload, outputs: dict[str, list[np.ndarray] | None]) -> None:
    """Check that every candidate's first output matches autograd_lite's.

    Raises AssertionError naming the workload, the candidate and the output that differ.
    """
    reference = outputs.get(ENGINE)
    if reference is None:
        return
    for name, value in outputs.items():
        if value is not None:
            _compare(f"{workload.id}: {name}", reference, value, workload.rtol)


def _compare(what: str, expected: list[np.ndarray], got: list[np.ndarray], rtol: float) -> None:
    """Equal shapes and max |difference| within ``rtol`` of each expected array's largest
    magnitude (elementwise relative error is meaningless for entries near zero)."""
    if len(got) != len(expected):
        raise AssertionError(f"{what} returned {len(got)} arrays, {ENGINE} {len(expected)}")
    for i, (a, b) in enumerate(zip(expected, got)):
        if a.shape != b.shape:
            raise AssertionError(f"{what}: output {i} has shape {b.shape}, "
                                 f"{ENGINE} {a.shape}")
        worst = float(np.max(np.abs(a - b), initial=0.0))
        if not worst <= rtol * float(np.max(np.abs(a), initial=0.0)):
            raise AssertionError(f"{what} disagrees with {ENGINE} on output {i}: "
                                 f"max |difference| {worst:.3g}")


def _as_arrays(value: object) -> list[np.ndarray]:
    """A candidate's output as a list of float64 copies (tensors go through __array__);
    copies, because later calls may reuse the buffers the output points into."""
    items = value if isinstance(value, (tuple, list)) else [value]
    return [np.array(v, dtype=np.float64) for v in items]


def _fmt(value: float | None, digits: int = 3) -> str:
    """A number with ``digits`` significant figures (never in exponent form), or "n/a"."""
    if value is None:
        return "n/a"
    if value >= 10 ** (digits - 1):
        return f"{value:,.0f}"
    return f"{value:#.{digits}g}".rstrip(".")


def markdown_table(results: Iterable[Result]) -> str:
    """The results as a Markdown table: medians per candidate, then the engine's ratios."""
    results = list(results)
    header = ["workload", "unit", *CANDIDATES, *(f"{ours} / {ref}" for ours, ref in RATIOS)]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in results:
        cells = [f"{r.workload.id} {r.workload.title}", r.workload.unit]
        cells += [_fmt(r.medians.get(name)) for name in CANDIDATES]
        for ours, ref in RATIOS:
            ratio = r.ratio(ref, ours)
            cells.append(_fmt(ratio, 2) + ("x" if ratio is not None else ""))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def metrics_report(results: Iterable[Result]) -> str:
    """Extra metrics and notes of the workloads that have them, one bullet each."""
    lines = []
    for r in results:
        lines += [f"- {r.workload.id} {label}: {value}" for label, value in r.metrics.items()]
        if r.workload.note:
            lines.append(f"- {r.workload.id}: {r.workload.note}")
    return "\n".join(lines)
