"""Shared settings for the latency suite.

CI runs few rounds and short loops; ``ac-core bench`` (or AC_CORE_BENCH_FULL=1) runs the full
suite. Each plumbing benchmark stores its figure in ``extra_info`` under the keys ``figure`` (what
is measured), ``role`` ("ac_core" or "baseline"), ``value_ns`` (the headline number; p50 for
latency distributions, with ``p99_ns``/``max_ns`` beside it) and ``target`` / ``target_ns`` (from
DESIGN.md §8), which ``ac-core bench`` turns into a table of figures, baselines and ratios.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time

import numpy as np
import pytest


def full_run() -> bool:
    return os.environ.get("AC_CORE_BENCH_FULL", "") not in ("", "0")


@pytest.fixture(scope="session")
def full() -> bool:
    return full_run()


def percentiles_ns(samples_ns: list[float] | np.ndarray) -> dict[str, float]:
    a = np.asarray(samples_ns, dtype=np.float64)
    return {
        "value_ns": float(np.percentile(a, 50)),
        "p99_ns": float(np.percentile(a, 99)),
        "max_ns": float(a.max()),
        "samples": int(a.size),
    }


def record(benchmark, figure: str, role: str, target: str | None = None, target_ns: float | None = None, **values):
    benchmark.extra_info["figure"] = figure
    benchmark.extra_info["role"] = role
    if target is not None:
        benchmark.extra_info["target"] = target
    if target_ns is not None:
        benchmark.extra_info["target_ns"] = target_ns
    benchmark.extra_info.update(values)


# -- timing under load --------------------------------------------------------------------------------
# "loaded": two processes that spin for the whole measurement (a training run keeps the other cores
# busy the same way); "loaded+rt": the same load, with the measuring thread (and, where the benchmark
# has them, the poller thread and the simulator process) on the OS's real-time class, which the user
# must permit (docs/plumbing.md, "Real-time threads"): skipped, saying why, where it is not allowed.
LOAD_CONDITIONS = ("idle", "loaded", "loaded+rt")
LOAD_PROCESSES = 2
RT_PRIORITY = 50


@contextlib.contextmanager
def background_load(condition: str):
    """Runs the block under ``condition``; yields the real-time priority to ask for (0 = none)."""
    from ac_core import _core

    procs = []
    if condition != "idle":
        procs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(LOAD_PROCESSES)]
    rt = 0
    try:
        if condition == "loaded+rt":
            ok, detail = _core.make_thread_realtime(RT_PRIORITY)
            if not ok:
                pytest.skip(f"real-time scheduling not permitted here: {detail}")
            rt = RT_PRIORITY
        time.sleep(0.2 if procs else 0.0)  # the load is running before the measurement starts
        yield rt
    finally:
        if rt:
            _core.make_thread_normal()
        for p in procs:
            p.kill()
        for p in procs:
            p.wait()
