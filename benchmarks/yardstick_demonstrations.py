"""Demonstrations against none: env steps and wall time to the first complete lap and to ≤ 105 % of the
reference driver on the built-in Spa, with 0, 1, 5 and 20 demonstration laps (the CPU config; ``--seed 0 1``
runs every count once per seed).

    python -m benchmarks.yardstick_demonstrations --laps 0 1 5 20 --out docs/results/demonstrations_spa

For each count it records the reference driver's laps at the config's 10 Hz (``ac-core demo``'s
:func:`~ac_core.train.demonstrations.drive_laps`: the held-controls driver, 1:54.5 a lap), trains
``configs/iqn_spa_cpu.yaml`` with them (``train.demonstrations``; 0 = none) from the same seed,
evaluates every ``--eval-interval`` steps and stops at the first evaluation whose best *clean* lap (no
off-track event: AC's track limits) is at or under the target, or at ``--steps``; the first lap is the
first complete one, cut or clean (``first_clean_lap`` too). Results from before 2026-12-03 timed every lap
against the target. Writes ``<out>.json`` (every evaluation with its step and wall time) and ``<out>.png``.
``--set agent.demo_fade_steps=400000`` fades the demonstrations out (kept at full weight they hold the
agent near their own 112 %); ``--demonstrations NPZ`` adds a run with a prepared set, such as laps
recorded with ``ac-core record`` and converted by ``ac-core demo --from-recording``. To the first lap
about 5–10 min per count on a 2-core machine, to ≤ 105 % 20–30 min; docs/agent.md, "Demonstrations",
has the measured tables.
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

CONFIG = "iqn_spa_cpu"
TARGET = 1.05  # of the reference driver's lap


def run_one(laps: int, workdir: Path, steps: int, eval_interval: int, target_s: float, seed: int,
            extra: list[str] | None = None, stop_at_first_lap: bool = False,
            prepared: Path | None = None) -> dict[str, Any]:
    """Record ``laps`` demonstration laps (none for 0) or use the ``prepared`` set (``ac-core demo``'s .npz,
    e.g. from ``--from-recording``), train until ``target_s`` (or the first lap) or ``steps`` (``extra``:
    more ``section.key=value`` settings for the run)."""
    from ac_core.config import load_config, override
    from ac_core.train import train_racing
    from ac_core.train.demonstrations import Demonstrations, drive_laps

    demo_info: dict[str, Any] = {}
    sets = [f"train.total_timesteps={steps}", f"train.eval_interval={eval_interval}", f"train.save_interval={steps}",
            f"train.seed={seed}", "train.progress=false", "train.keep_step_checkpoints=false",
            f"train.log_dir={workdir / 'logs'}", f"train.checkpoint_dir={workdir / 'checkpoints'}"]
    if prepared is not None:
        demos = Demonstrations.load(prepared)
        laps = int(demos.meta["laps"])
        demo_info = {"transitions": len(demos), "laps": laps, "set": str(prepared),
                     "driver": demos.meta.get("driver"), "recordings": demos.meta.get("recordings")}
        sets.append(f"train.demonstrations={prepared}")
    elif laps:
        cfg = load_config(CONFIG)
        started = time.perf_counter()
        demos = drive_laps(cfg, laps, "reference", seed=seed, echo=lambda _line: None)
        path = workdir / f"reference_{laps}.npz"
        demos.save(path)
        demo_info = {"transitions": len(demos), "laps": demos.meta["laps"],
                     "record_seconds": round(time.perf_counter() - started, 1)}
        sets.append(f"train.demonstrations={path}")
    cfg = override(load_config(CONFIG), sets + list(extra or []))
    evaluations: list[dict[str, Any]] = []
    started = time.perf_counter()

    def seconds(metrics: Mapping[str, float], key: str) -> float | None:
        value = metrics.get(key, math.nan)
        return None if math.isnan(value) else round(float(value), 3)

    def stop(metrics: Mapping[str, float]) -> bool:
        lap, clean = seconds(metrics, "eval/best_lap_time"), seconds(metrics, "eval/best_clean_lap_time")
        evaluations.append({"step": len(evaluations) * eval_interval + eval_interval,
                            "wall_s": round(time.perf_counter() - started, 1), "best_lap_s": lap,
                            "best_clean_lap_s": clean,
                            "completed_laps": float(metrics.get("eval/completed_laps", 0.0)),
                            "max_distance_m": round(float(metrics.get("eval/max_distance_m", 0.0)), 1)})
        print(f"demonstration laps {laps:>2}: {evaluations[-1]}", flush=True)
        return (stop_at_first_lap and lap is not None) or (clean is not None and clean <= target_s)

    result = train_racing(cfg, stop=stop)
    first = next((e for e in evaluations if e["best_lap_s"] is not None), None)
    first_clean = next((e for e in evaluations if e["best_clean_lap_s"] is not None), None)
    reached = next((e for e in evaluations if e["best_clean_lap_s"] is not None and e["best_clean_lap_s"] <= target_s),
                   None)
    return {"demonstration_laps": laps, "seed": seed, "demonstrations": demo_info, "settings": list(extra or []),
            "evaluations": evaluations, "target_on": "clean laps",
            "first_lap": first, "first_clean_lap": first_clean, "target_reached": reached, "env_steps": result.step,
            "gradient_steps": result.gradient_steps, "wall_seconds": round(time.perf_counter() - started, 1)}


def _seconds(value: float | None) -> float:
    return math.nan if value is None else value


def _counts_clean(run: dict[str, Any]) -> bool:
    """Whether the run recorded clean laps (results from before clean-lap counting did not)."""
    return any("best_clean_lap_s" in e for e in run["evaluations"])


def load_runs(path: Path) -> list[dict[str, Any]]:
    """The runs of an earlier result, each with its seed (results before per-run seeds kept one for all)."""
    result = json.loads(path.read_text())
    return [{"seed": result.get("seed"), **run} for run in result["runs"]]


def plot(runs: list[dict[str, Any]], reference_s: float, path: Path) -> None:
    from ac_core.plots import _pyplot

    plt = _pyplot()
    fig, (laps_ax, dist_ax) = plt.subplots(1, 2, figsize=(11, 4))
    several_seeds = len({run["seed"] for run in runs}) > 1
    for run in runs:
        label = f"{run['demonstration_laps']} demonstration laps"
        if several_seeds:
            label += f", seed {run['seed']}"
        if run["demonstrations"].get("set"):
            label += f" ({Path(run['demonstrations']['set']).name})"
        if run["settings"]:
            label += f", {' '.join(run['settings'])}"
        if run["demonstration_laps"] and not any("demo_fade_steps" in item for item in run["settings"]):
            label += ", full weight"  # DQfD as configured: the set is never faded out
        steps = [e["step"] for e in run["evaluations"]]
        # The target is on clean laps, so the line is the best clean lap; results from before clean-lap
        # counting (no best_clean_lap_s) draw every lap. An "x" marks an evaluation whose best lap was a cut.
        clean_key = "best_clean_lap_s" if _counts_clean(run) else "best_lap_s"
        line, = laps_ax.plot(steps, [_seconds(e.get(clean_key)) for e in run["evaluations"]],
                             marker="o", markersize=3, label=label)
        if clean_key == "best_clean_lap_s":
            cuts = [(e["step"], e["best_lap_s"]) for e in run["evaluations"]
                    if e["best_lap_s"] is not None and e["best_lap_s"] != e.get("best_clean_lap_s")]
            laps_ax.plot([s for s, _ in cuts], [t for _, t in cuts], ls="none", marker="x", markersize=4,
                         color=line.get_color(), alpha=0.6)
        dist_ax.plot(steps, [e["max_distance_m"] for e in run["evaluations"]], marker="o", markersize=3, label=label)
    laps_ax.axhline(reference_s, color="k", lw=0.8, label=f"reference driver {reference_s:.2f} s")
    laps_ax.axhline(TARGET * reference_s, color="k", ls="--", lw=0.8, label=f"{TARGET:.0%} of it")
    laps_ax.set_xlabel("env steps")
    laps_ax.set_ylabel("best clean lap (s); x: a faster cut lap" if all(_counts_clean(run) for run in runs)
                       else "best lap (s), clean where counted")
    dist_ax.set_xlabel("env steps")
    dist_ax.set_ylabel("longest greedy drive (m)")
    laps_ax.legend(fontsize=8)
    from matplotlib.ticker import FuncFormatter

    last = max((e["step"] for run in runs for e in run["evaluations"]), default=1)
    for ax in (laps_ax, dist_ax):
        ax.grid(alpha=0.3)
        ax.set_xlim(0, last * 1.03)  # both panels on the same steps, laps or not
        ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _pos: f"{x / 1000:.0f} k"))
    fig.suptitle("Spa, configs/iqn_spa_cpu.yaml: demonstrations (benchmarks/yardstick_demonstrations.py)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--laps", type=int, nargs="*", default=[0, 1, 5, 20],
                        help="reference-driver laps per run (0: none; a bare --laps: no such runs, and with "
                             "no --demonstrations either, only redraw <out>.png from <out>.json)")
    parser.add_argument("--demonstrations", metavar="NPZ", action="append", default=[], type=Path,
                        help="also a run with this prepared set (ac-core demo, e.g. --from-recording laps.csv)")
    parser.add_argument("--steps", type=int, default=1_500_000, help="the cap per run (default: the config's 1.5 M)")
    parser.add_argument("--eval-interval", type=int, default=25_000)
    parser.add_argument("--seed", type=int, nargs="+", default=[0],
                        help="train seeds; every count runs once per seed (default: 0)")
    parser.add_argument("--out", default="demonstrations_spa", help="writes <out>.json and <out>.png")
    parser.add_argument("--stop", choices=("target", "first-lap"), default="target",
                        help="end each run at the first evaluation with a clean lap at or under the target "
                             "(default), or at the first complete lap (shorter: time to the first lap only)")
    parser.add_argument("--set", metavar="SECTION.KEY=VALUE", action="append", default=[],
                        help="change a setting of the runs with demonstrations (e.g. agent.epsilon_start=0.1)")
    parser.add_argument("--set-all", metavar="SECTION.KEY=VALUE", action="append", default=[],
                        help="change a setting of every run, with demonstrations or without (e.g. "
                             "env.reward.off_track_progress=1: cuts paid, as older tables were measured)")
    parser.add_argument("--plot-with", metavar="JSON", action="append", default=[], type=Path,
                        help="also draw the runs of this earlier result of this script in the figure")
    args = parser.parse_args(argv)
    from ac_core.sim.reference import reference_lap

    reference_s = reference_lap("spa").lap_time_s
    target_s = TARGET * reference_s
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    runs: list[dict[str, Any]] = []
    plan = [(laps, None, seed) for seed in args.seed for laps in args.laps]
    plan += [(0, prepared, seed) for seed in args.seed for prepared in args.demonstrations]
    missing = [path for path in args.plot_with if not path.is_file()]
    if not plan and not out.with_suffix(".json").is_file():
        missing.append(out.with_suffix(".json"))
    if missing:
        parser.error(f"no result {missing[0]}: name a .json this script wrote (an earlier --out)")
    from ac_core.train.demonstrations import DemonstrationError, Demonstrations

    for prepared in args.demonstrations:  # the trainer's own check, before any run starts rather than hours in
        try:
            Demonstrations.load(prepared)
        except DemonstrationError as exc:
            parser.error(str(exc))
    earlier = [run for path in args.plot_with for run in load_runs(path)]
    if not plan:  # nothing to run: redraw <out>.png from <out>.json (with --plot-with's runs)
        runs = load_runs(out.with_suffix(".json"))
        plot(earlier + runs, reference_s, out.with_suffix(".png"))
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        for index, (laps, prepared, seed) in enumerate(plan):
            with_demos = bool(laps) or prepared is not None
            runs.append(run_one(laps, Path(tmp) / f"run{index}", args.steps, args.eval_interval, target_s, seed,
                                args.set_all + (args.set if with_demos else []), args.stop == "first-lap", prepared))
            result = {"config": CONFIG, "seeds": args.seed, "reference_lap_s": reference_s, "target_s": target_s,
                      "eval_interval": args.eval_interval, "cap_steps": args.steps, "stop": args.stop,
                      "runs": runs}
            out.with_suffix(".json").write_text(json.dumps(result, indent=1))  # after each run: nothing lost
            plot(earlier + runs, reference_s, out.with_suffix(".png"))
    def when(evaluation: dict[str, Any] | None) -> str:
        return f"at {evaluation['step']:,} steps ({evaluation['wall_s']:.0f} s)" if evaluation else "not reached"

    for run in runs:
        source = f" ({run['demonstrations']['set']})" if run["demonstrations"].get("set") else ""
        print(f"{run['demonstration_laps']:>2} demonstration laps{source}, seed {run['seed']}: "
              f"first lap {when(run['first_lap'])}, first clean lap {when(run.get('first_clean_lap'))}, "
              f"≤ {TARGET:.0%} {when(run['target_reached'])}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
