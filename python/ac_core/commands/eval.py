"""`ac-core eval`: deterministic greedy rollouts of a checkpoint, with a table, summary.json,
per-step telemetry (CSV/JSON) and plots beside the reference driver."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    from ac_core.env.backends import BACKEND_NAMES

    p = sub.add_parser("eval", help="evaluate a checkpoint: lap times, off-track, collisions, speed, reward")
    p.add_argument("--checkpoint", required=True,
                   help="a .pt file written by `ac-core train` (e.g. checkpoints/last.pt)")
    p.add_argument("--episodes", type=int, default=10, help="episodes to run (default 10)")
    p.add_argument("--save-rollouts", metavar="DIR", default=None,
                   help="write summary.json, per-episode telemetry and plots into DIR")
    p.add_argument("--laps", type=int, default=1, help="laps per episode (default 1)")
    p.add_argument("--seed", type=int, default=12345, help="seed of the first episode (episode i uses seed+i)")
    p.add_argument("--backend", choices=BACKEND_NAMES, default=None,
                   help="override the checkpoint's backend (e.g. evaluate a sim-trained agent in AC)")
    p.add_argument("--track", default=None, help="override the track (built-in name or track file)")
    p.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    p.add_argument("--device", default="cpu", help="torch device for the policy (default cpu)")
    p.add_argument("--video", choices=("gif", "mp4"), default=None,
                   help="with --save-rollouts: a top-down video of the best episode (mp4 needs ffmpeg)")
    p.add_argument("--video-speedup", type=float, default=1.0, metavar="X",
                   help="driven seconds per video second (default 1: real time; 4 renders a lap 4x faster)")
    p.add_argument("--eval-quantiles", type=int, default=None, metavar="N",
                   help="greedy actions from Q on a grid of N τ midpoints; 0: K sampled τ, as the run acted "
                        "(default: the checkpoint's agent.eval_quantiles)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ac_core.train.checkpoint_eval import evaluate

    if args.episodes < 1:
        print(f"ac-core eval: --episodes must be ≥ 1, got {args.episodes}", file=sys.stderr)
        return 2
    if args.eval_quantiles is not None and args.eval_quantiles < 0:
        print(f"ac-core eval: --eval-quantiles must be ≥ 0 (0: sampled τ), got {args.eval_quantiles}", file=sys.stderr)
        return 2
    if not args.video_speedup > 0:
        print(f"ac-core eval: --video-speedup must be positive, got {args.video_speedup}", file=sys.stderr)
        return 2
    if args.video is not None:
        from ac_core.video import VideoError, check_video_path

        if args.save_rollouts is None:
            print("ac-core eval: --video needs --save-rollouts DIR (the video is written there)", file=sys.stderr)
            return 2
        try:  # checked before the rollouts, which may take long
            Path(args.save_rollouts).mkdir(parents=True, exist_ok=True)
            check_video_path(Path(args.save_rollouts) / f"check.{args.video}")
        except VideoError as e:
            print(f"ac-core eval: {e}", file=sys.stderr)
            return 2
    overrides = {}
    if args.backend:
        overrides["backend"] = args.backend
    if args.track:
        overrides["track"] = args.track
    summary = evaluate(args.checkpoint, args.episodes, args.save_rollouts, seed=args.seed,
                       env_overrides=overrides, plots=not args.no_plots, laps=args.laps, device=args.device,
                       video=args.video, video_speedup=args.video_speedup, eval_quantiles=args.eval_quantiles)

    def fmt(v: float | None) -> str:
        return f"{v:.3f} s" if v is not None else "--"

    print()
    print(f"episodes          {summary['episodes']}")
    print(f"completed laps    {summary['completed_laps']}")
    print(f"best lap          {fmt(summary['best_lap_time_s'])}")
    print(f"mean lap          {fmt(summary['mean_lap_time_s'])}")
    print(f"clean laps        {summary['clean_laps']} of {summary['completed_laps']}  (no off-track event in the lap;"
          " AC counts one as a cut)")
    if summary["clean_laps"] != summary["completed_laps"]:
        print(f"best clean lap    {fmt(summary['best_clean_lap_time_s'])}")
    print(f"reference lap     {fmt(summary['reference_lap_time_s'])}")
    if summary["gap_to_reference_s"] is not None:
        print(f"gap to reference  {summary['gap_to_reference_s']:+.3f} s ({summary['best_lap_vs_reference']:.1%})")
    if summary.get("gap_to_plan_s") is not None:
        print(f"driver's plan     {fmt(summary['planned_lap_time_s'])}  (gap {summary['gap_to_plan_s']:+.3f} s: the lap"
              " the reference driver aims at)")
    print(f"off-track events  {summary['off_track_events']}")
    print(f"collisions        {summary['collisions']}")
    print(f"average speed     {summary['avg_speed_kmh']:.1f} km/h")
    print(f"cumulative reward {summary['cumulative_reward']:.2f}")
    if args.save_rollouts:
        print(f"\nwrote {args.save_rollouts}/summary.json, episode_*.csv/json and plots")
    if summary.get("stopped_by"):
        print(f"stopped by {summary['stopped_by']}: the summary covers the {summary['episodes']} finished episodes")
        return 130
    return 0
