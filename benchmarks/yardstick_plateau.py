"""The CPU run's plateau and the reference driver: what continuing past 1.5 M steps and the evaluation's
τ do to the best lap on the built-in Spa.

    python -m benchmarks.yardstick_plateau --out docs/results/plateau_spa
    python -m benchmarks.yardstick_plateau --seed 1 --variants greedy --out docs/results/plateau_spa_seed1
    python -m benchmarks.yardstick_plateau --seed 1 --variants greedy --set env.reward.off_track_progress=0 \
        --out docs/results/plateau_spa_seed1_nocut

1. Trains ``configs/iqn_spa_cpu.yaml`` to its 1.5 M steps with the replay saved (``train.save_replay``).
2. Continues that run to ``--to`` steps (2 M) in three variants at once (one PyTorch thread each), each from
   the same last.pt and replay.pt: ``control`` (the config as it is: ε 0.02, lr 5e-5), ``greedy`` (ε 0 from
   then on) and ``greedy_lr`` (ε 0 and lr 1e-5); ``--variants`` trains only those named.
3. Continues ``greedy`` (its last.pt and replay.pt) to ``--to-long`` steps (3 M) as ``greedy_long``, its
   training evaluations on the fixed 32-τ grid (``agent.eval_quantiles``), so best.pt is chosen as it is
   evaluated; ``--to-long 0`` skips it.
4. Evaluates phase 1's best.pt and each continuation's best.pt and last.pt with ``ac-core eval``'s
   protocol, 10 flying laps each, twice: with K sampled τ (as the runs acted) and on the fixed 32-τ grid
   (``--eval-quantiles 32``).

Writes ``<out>.json`` (every training evaluation, every 10-lap evaluation, the reference driver's lap and
its plan) and ``<out>.png`` (the training evaluations' best laps against steps). About 30 min for the
first run, 30 min for the three continuations and 25 min for the long one on a 2-core machine;
``--workdir`` keeps the runs, and ``--summarise-only`` re-reads a workdir without training.
docs/agent.md, "Beyond 1.5 M steps", has the result.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

CONFIG = "iqn_spa_cpu"
VARIANTS: dict[str, list[str]] = {
    "control": [],
    "greedy": ["agent.epsilon_end=0.0"],
    "greedy_lr": ["agent.epsilon_end=0.0", "agent.lr_end=1e-5"],
}
# The long continuation: from ``greedy``, evaluated on the τ grid while it trains.
LONG, LONG_FROM = "greedy_long", "greedy"
EVAL_EPISODES = 10
GRID = 32
LONG_SETTINGS = ["agent.epsilon_end=0.0", f"agent.eval_quantiles={GRID}"]


def _train(args: list[str], log: Path) -> subprocess.Popen[bytes]:
    with open(log, "wb") as out:
        return subprocess.Popen([sys.executable, "-m", "ac_core.cli", "train", "--config", CONFIG, "--no-progress",
                                 *args], stdout=out, stderr=subprocess.STDOUT)


def _wait(processes: list[subprocess.Popen[bytes]], what: str) -> None:
    codes = [p.wait() for p in processes]
    if any(codes):
        raise SystemExit(f"{what} failed (exit codes {codes}); see the train.log files in the workdir")


def _set_args(sets: list[str]) -> list[str]:
    """``ac-core train`` arguments for config overrides: ``--set KEY=VALUE`` for each."""
    return [item for s in sets for item in ("--set", s)]


def _continue(source: Path, run: Path, common: list[str], to_steps: int, sets: list[str],
              alone: bool) -> subprocess.Popen[bytes]:
    """Continue the run in ``source`` (its last.pt and replay.pt) in ``run`` to ``to_steps``.

    Runs trained side by side get one PyTorch thread each, so they share the cores instead of fighting over
    them; a run ``alone`` keeps ``ac-core train``'s own choice (all cores when that times faster)."""
    (run / "ck").mkdir(parents=True, exist_ok=True)
    for file in ("last.pt", "replay.pt", "best.pt", "config.yaml"):
        shutil.copy2(source / "ck" / file, run / "ck" / file)
    extra = _set_args(sets)
    if not alone:
        extra += ["--set", "train.torch_threads=1"]
    return _train(["--out", str(run / "ck"), "--log-dir", str(run / "logs"), "--resume", *common,
                   "--set", f"train.total_timesteps={to_steps}", *extra],
                  run / "train.log")


def train(workdir: Path, seed: int, to_steps: int, to_long: int, variants: list[str], sets: list[str]) -> None:
    phase1 = workdir / "phase1"
    phase1.mkdir(parents=True, exist_ok=True)
    common = _set_args(["train.save_replay=true", f"train.seed={seed}", *sets])
    _wait([_train(["--out", str(phase1 / "ck"), "--log-dir", str(phase1 / "logs"), *common],
                  phase1 / "train.log")], "the 1.5 M-step run")
    _wait([_continue(phase1, workdir / name, common, to_steps, VARIANTS[name], alone=len(variants) == 1)
           for name in variants], "a continuation")
    if to_long:
        _wait([_continue(workdir / LONG_FROM, workdir / LONG, common, to_long, LONG_SETTINGS, alone=True)],
              "the long continuation")


def _curve(logs: Path) -> list[dict[str, Any]]:
    from ac_core.commands.curve import read_scalars

    scalars = read_scalars(logs, ("eval/best_lap_time",))
    if "eval/best_lap_time" not in scalars:
        return []
    steps, laps = scalars["eval/best_lap_time"]
    return [{"step": int(s), "best_lap_s": None if math.isnan(v) else round(float(v), 3)}
            for s, v in zip(steps, laps, strict=True)]


def _ten_laps(checkpoint: Path, eval_quantiles: int) -> dict[str, Any]:
    from ac_core.train.checkpoint_eval import evaluate

    s = evaluate(checkpoint, EVAL_EPISODES, None, plots=False, echo=lambda *_: None, eval_quantiles=eval_quantiles)
    return {"checkpoint_step": s["checkpoint_step"], "eval_quantiles": eval_quantiles,
            "completed_laps": s["completed_laps"], "best_lap_s": s["best_lap_time_s"],
            "mean_lap_s": s["mean_lap_time_s"], "clean_laps": s["clean_laps"],
            "best_clean_lap_s": s["best_clean_lap_time_s"], "off_track_events": s["off_track_events"],
            "collisions": s["collisions"]}


def summarise(workdir: Path) -> dict[str, Any]:
    from ac_core.config import load_config
    from ac_core.sim import driver_plan, reference_lap

    # The seed and the rules the runs were trained under, from the run's own config copy, so --summarise-only
    # cannot mislabel them.
    config = load_config(workdir / "phase1" / "ck" / "config.yaml")

    reference = reference_lap("spa")
    result: dict[str, Any] = {"seed": config.train.seed, "reward": dataclasses.asdict(config.env.reward),
                              "off_track_grace_s": config.env.off_track_grace_s,
                              "reference_lap_s": round(reference.lap_time_s, 3),
                              "planned_lap_s": round(driver_plan("spa").lap_time_s, 3), "runs": {}}
    for name in ("phase1", *VARIANTS, LONG):
        run = workdir / name
        if name != "phase1" and not (run / "ck" / "best.pt").is_file():
            continue  # a variant left out with --variants, or the long one with --to-long 0
        curve = _curve(run / "logs")
        laps = [e["best_lap_s"] for e in curve if e["best_lap_s"] is not None]
        entry: dict[str, Any] = {"training_evaluations": curve, "best_training_lap_s": min(laps) if laps else None,
                                 "ten_lap_evaluations": {}}
        for which in ("best", "last") if name != "phase1" else ("best",):
            for q in (0, GRID):
                entry["ten_lap_evaluations"][f"{which}.pt, {'sampled' if q == 0 else f'grid {q}'}"] = (
                    _ten_laps(run / "ck" / f"{which}.pt", q))
        result["runs"][name] = entry
    return result


def plot(result: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 4.5))
    for name, entry in result["runs"].items():
        points = [(e["step"], e["best_lap_s"]) for e in entry["training_evaluations"] if e["best_lap_s"] is not None]
        if points:
            steps, laps = zip(*points, strict=True)
            label = "1.5 M run" if name == "phase1" else name
            grid = entry["ten_lap_evaluations"].get(f"best.pt, grid {GRID}", {})
            if "clean_laps" in grid:  # results from before clean laps were counted leave it out
                label += f" (best.pt: {grid['clean_laps']}/{EVAL_EPISODES} laps clean)"
            ax.plot(steps, laps, marker="o", markersize=3, lw=1, label=label)
    reference = result["reference_lap_s"]
    ax.axhline(reference, color="k", ls="--", lw=1, label=f"reference driver {reference} s")
    ax.axhline(result["planned_lap_s"], color="0.5", ls=":", lw=1, label=f"its plan {result['planned_lap_s']} s")
    ax.set_ylim(result["planned_lap_s"] - 2, 120)
    ax.set_xlabel("env steps")
    ax.set_ylabel(f"evaluation's best lap (s), cut or clean;\nsampled τ, {LONG}: τ grid", fontsize=9)
    share = result.get("reward", {}).get("off_track_progress", 1.0)  # absent from results before --set
    rule = f", off_track_progress {share:g}" if share != 1.0 else ""
    ax.set_title(f"iqn_spa_cpu past 1.5 M steps, seed {result['seed']}{rule} (benchmarks/yardstick_plateau.py)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="plateau_spa", help="writes <out>.json and <out>.png")
    parser.add_argument("--workdir", default="plateau_runs", help="where the runs are trained (kept)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--to", type=int, default=2_000_000, help="env steps the continuations run to")
    parser.add_argument("--to-long", type=int, default=3_000_000,
                        help=f"env steps the {LONG} continuation runs to (0: skip it)")
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS),
                        help=f"the continuations to train (all by default); {LONG} needs {LONG_FROM}")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", dest="sets",
                        help="a config override for every run, as ac-core train's --set (repeatable)")
    parser.add_argument("--summarise-only", action="store_true", help="evaluate the runs already in --workdir")
    args = parser.parse_args(argv)
    if args.to_long and LONG_FROM not in args.variants:
        parser.error(f"--to-long continues {LONG_FROM}: add it to --variants, or pass --to-long 0")
    workdir = Path(args.workdir)
    if not args.summarise_only:
        train(workdir, args.seed, args.to, args.to_long, args.variants, args.sets)
    missing = [str(workdir / name / "ck" / "best.pt") for name in ("phase1", *args.variants)
               if not (workdir / name / "ck" / "best.pt").is_file()]
    if missing:
        raise SystemExit(f"yardstick_plateau: no runs to summarise ({', '.join(missing)} missing); "
                         "run it without --summarise-only first, or point --workdir at its runs")
    result = summarise(workdir)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(result, indent=1))
    plot(result, out.with_suffix(".png"))
    for name, entry in result["runs"].items():
        print(f"{name:>11} best training evaluation: {entry['best_training_lap_s']} s")
        for label, e in entry["ten_lap_evaluations"].items():
            mean = f"{e['mean_lap_s']:.2f} s" if e["mean_lap_s"] is not None else "--"
            print(f"{name:>10} {label:<22} laps {e['completed_laps']:>2}/{EVAL_EPISODES}  mean {mean}"
                  f"  clean {e['clean_laps']:>2}")
    print(f"reference {result['reference_lap_s']} s, its plan {result['planned_lap_s']} s; "
          f"{out.with_suffix('.json')}, {out.with_suffix('.png')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
