"""``ac-core train --ray-address …``: the driver of a cluster run.

The driver creates the replay, the learner (on a GPU node when the cluster has one) and the
simulator collectors as Ray actors, then keeps them busy: one ``run(chunk)`` call in flight per
collector and one ``train(slice)`` call for the learner. Between their replies it refreshes the
progress bar and TensorBoard (per-source and total steps/s, replay size, weight lag, learner
updates), writes checkpoints and launches evaluations, which run as Ray tasks beside the collectors.

The run's counters, schedule and checkpoints are the single-process trainer's
(:mod:`ac_core.train.run_state`), and evaluations are its racing evaluation
(:func:`ac_core.train.racing.racing_evaluator`): the learner's full agent state is fetched into a CPU
copy of the agent and saved atomically here, so ``ac-core eval`` reads a cluster run's files and
``--resume`` continues it (or a single-machine run continues it).

A collector that dies is restarted by Ray (``max_restarts``); the chunk it was running never reached
the replay, so its steps — at most one chunk, counted whole, plus its unfinished n-step tail — are
added to ``perf/lost_steps``, and the restarted collector starts new episodes from a new seed.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import ray
from ray.exceptions import RayActorError

from ac_core.agents.agent import IQNAgent, LinearSchedule
from ac_core.config import Config, save_config
from ac_core.distributed import DistributedSetupError
from ac_core.distributed.actors import CollectorActor, LearnerActor, ReplayActor, evaluate_weights
from ac_core.distributed.cluster import ClusterConnectionError, cluster_gpus, connect
from ac_core.distributed.collector import CollectorReport, collector_seed
from ac_core.distributed.learner_core import LearnerReport
from ac_core.distributed.replay_service import ReplayStats, SourceStats
from ac_core.distributed.settings import ClusterSettings, ScaleOutSettings
from ac_core.run_directory import RunDirectory, finish_run
from ac_core.stop_signals import run_outcome, stop_signals
from ac_core.train.learners import METRIC_KEYS
from ac_core.train.loop import TrainResult
from ac_core.train.racing import SCORE_KEY, SCORE_RULE, env_spaces
from ac_core.train.run_state import RunCheckpoints, RunState


class ClusterTrainer:
    def __init__(self, cfg: Config, cluster: ClusterSettings, scale: ScaleOutSettings,
                 log: Callable[[str], None] = print) -> None:
        if scale.collectors and cfg.env.backend != "sim":
            raise DistributedSetupError(
                f"simulator collectors run the built-in simulator (env.backend sim), but this config has env.backend "
                f"{cfg.env.backend!r}; use a sim config, or --collectors 0 and connect game boxes with `ac-core actor`")
        if cfg.train.demonstrations:
            # The cluster's replay shards hold collected experience only; a set there would be silently unused.
            raise DistributedSetupError(f"train.demonstrations ({cfg.train.demonstrations}): training on a Ray "
                                        "cluster does not use demonstrations; train without --ray-address to use them")
        self.cfg, self.cluster, self.scale, self.log = cfg, cluster, scale, log
        tcfg = cfg.train
        self.rng = np.random.default_rng(tcfg.seed)
        self.epsilon = LinearSchedule(cfg.agent.epsilon_start, cfg.agent.epsilon_end, cfg.agent.epsilon_decay_steps)
        self.checkpoint_dir = Path(tcfg.checkpoint_dir)
        self.state = RunState(tcfg.eval_interval, tcfg.save_interval, SCORE_KEY, lower_is_better=True,
                              score_rule=SCORE_RULE)
        self.checkpoints = RunCheckpoints(self.checkpoint_dir, cfg, self.state, self.rng)
        self.lost_steps = 0
        self.restarts = [0] * scale.collectors
        self.collector_reports: list[CollectorReport | None] = [None] * scale.collectors
        self.learner_report: LearnerReport | None = None
        self.last_stats: dict[str, float] = {}  # the latest progress figures (also for tests and benchmarks)
        self._inflight: dict[Any, tuple[str, int]] = {}
        self._eval: tuple[Any, dict[str, Any], int] | None = None
        self._revive_deadline = [0.0] * scale.collectors
        self._stopping = False
        self._metric_sums: dict[str, float] = {}
        self._updates_since_report = 0
        self._started = False

    # ----- setup -----------------------------------------------------------------------------------
    def start(self, resume: bool = False) -> None:
        from torch.utils.tensorboard import SummaryWriter
        from tqdm import tqdm

        cfg, scale = self.cfg, self.scale
        info = connect(self.cluster, self.log)
        self._started = True
        self._owns_connection = info.address != "local (existing)"
        self.obs_dim, self.n_actions = env_spaces(cfg)
        self.agent = IQNAgent(self.obs_dim, self.n_actions, cfg.agent, "cpu")  # checkpoints pass through it
        self._check_name_free()
        config = cfg.to_dict()
        gpus = 1.0 if cfg.train.device != "cpu" and cluster_gpus() >= 1 else 0.0
        if cfg.train.device.startswith("cuda") and not gpus:
            raise ClusterConnectionError(f"train.device is {cfg.train.device!r} but the cluster has no GPU; "
                                         "use train.device=auto or cpu")
        acfg = cfg.agent
        self.replay = ReplayActor.options(name=self.cluster.actor_name("replay"), num_cpus=0).remote(
            acfg.replay_size, self.obs_dim, acfg.prioritized, acfg.priority_alpha, cfg.train.seed)
        self.learner = LearnerActor.options(name=self.cluster.actor_name("learner"), num_cpus=1, num_gpus=gpus,
                                            max_concurrency=4).remote(
            config, self.obs_dim, self.n_actions, self.replay, scale.publish_every, scale.sample_batches)
        self.collectors = [CollectorActor.options(num_cpus=scale.collector_cpus,
                                                  max_restarts=scale.max_collector_restarts,
                                                  max_task_retries=0).remote(
            config, index, self.cluster.actor_name("replay"), self.cluster.actor_name("learner"), scale.push_every,
            scale.sync_every)
            for index in range(scale.collectors)]
        device = ray.get(self.learner.device.remote())
        self.cars = int(cfg.env.n_envs)
        self.iterations = max(1, math.ceil(scale.chunk_steps / self.cars))
        self.log(f"cluster {info.address} (Ray {info.ray_version}, Python {info.python_version}): learner on "
                 f"{device}, {scale.collectors} simulator collectors x {self.cars} cars; game boxes join with "
                 f"`ac-core actor --ray-address ray://<head>:10001 --run-name {self.cluster.run_name}`")
        if resume:
            self._resume()
        self.checkpoint_dir.mkdir(parents=True, exist_ok=True)
        save_config(cfg, self.checkpoint_dir / "config.yaml")
        self.writer = SummaryWriter(log_dir=cfg.train.log_dir)
        self.progress = tqdm(total=cfg.train.total_timesteps, initial=self.step, unit="step", dynamic_ncols=True,
                             disable=not cfg.train.progress)
        self._report_time, self._report_step = time.monotonic(), self.step
        self._source_steps: dict[str, int] = {}
        self._next_report = time.monotonic() + scale.report_interval_s
        self._launch_learner()
        for index in range(scale.collectors):
            self._launch_collector(index)

    def _check_name_free(self) -> None:
        name = self.cluster.actor_name("learner")
        try:
            ray.get_actor(name)
        except ValueError:
            return
        raise ClusterConnectionError(f"a run named {self.cluster.run_name!r} is already running on this cluster "
                                     f"(actor {name!r}); stop it or choose another --run-name")

    def _resume(self) -> None:
        path = self.checkpoint_dir / "last.pt"  # RunDirectory has checked that it is there
        self.checkpoints.resume(self.agent)  # checks the architecture, loads networks, optimiser, RNGs, state
        ray.get(self.replay.set_env_steps.remote(self.step))
        ray.get(self.learner.load_state.remote(self.agent.state_dict(), self.step, self.state.steps_since_train))
        self.checkpoints.restore_replay(lambda arrays: ray.get(self.replay.load_state_dict.remote(arrays)))
        self.log(f"resumed {path} at step {self.step} ({self.agent.gradient_steps} gradient steps)")

    # The run state's counters, as attributes (tests, benchmarks and callers read them).
    @property
    def step(self) -> int:
        return self.state.step

    @step.setter
    def step(self, value: int) -> None:
        self.state.step = value

    @property
    def episodes(self) -> int:
        return self.state.episodes

    @property
    def best_score(self) -> float | None:
        return self.state.best_score

    # ----- the loop ----------------------------------------------------------------------------------
    def _launch_learner(self) -> None:
        self._inflight[self.learner.train.remote(self.scale.learner_slice_s)] = ("learner", 0)

    def _launch_collector(self, index: int) -> None:
        self._inflight[self.collectors[index].run.remote(self.iterations)] = ("collector", index)

    def tick(self, timeout_s: float = 0.2) -> None:
        if self._inflight:
            ready, _ = ray.wait(list(self._inflight), num_returns=1, timeout=timeout_s)
            for ref in ready:
                kind, index = self._inflight.pop(ref)
                if kind == "collector":
                    self._on_collector(index, ref)
                elif kind == "revive":
                    self._on_revive(index, ref)
                elif kind == "learner":
                    self._on_learner(ref)
                else:
                    self._on_eval(ref)
        else:
            time.sleep(timeout_s)
        if time.monotonic() >= self._next_report:
            self.report()
        if not self._stopping:
            self._maybe_save_and_evaluate()

    def _on_collector(self, index: int, ref: Any) -> None:
        try:
            report: CollectorReport = ray.get(ref)
        except RayActorError as exc:
            previous = self.collector_reports[index]
            lost = self.iterations * self.cars + (previous.pending_steps if previous else 0)
            self.lost_steps += lost
            self.restarts[index] += 1
            self.log(f"collector {index} died ({type(exc).__name__}); Ray restarts it "
                     f"(restart {self.restarts[index]}); up to {lost} env steps lost")
            if self.restarts[index] > self.scale.max_collector_restarts:
                raise RuntimeError(f"collector {index} died {self.restarts[index]} times; giving up") from exc
            self.collector_reports[index] = None
            self._revive_deadline[index] = time.monotonic() + 300
            self._probe(index)
            return
        self.collector_reports[index] = report
        self.step = max(self.step, report.transport.global_step)
        if not self._stopping:
            self._launch_collector(index)

    def _probe(self, index: int) -> None:
        self._inflight[self.collectors[index].pid.remote()] = ("revive", index)

    def _on_revive(self, index: int, ref: Any) -> None:
        """A restarting actor refuses calls until its constructor has run again; ask until it answers."""
        try:
            ray.get(ref)
        except RayActorError as exc:
            if time.monotonic() > self._revive_deadline[index]:
                raise RuntimeError(f"collector {index} did not come back after dying") from exc
            time.sleep(0.1)
            self._probe(index)
            return
        if not self._stopping:
            self.collectors[index].reseed.remote(collector_seed(self.cfg.train.seed, index, self.restarts[index]))
            self._launch_collector(index)

    def _on_learner(self, ref: Any) -> None:
        try:
            report: LearnerReport = ray.get(ref)
        except RayActorError as exc:
            raise RuntimeError("the learner died; its last checkpoint is in "
                               f"{self.checkpoint_dir}/last.pt: restart with --resume") from exc
        self.learner_report = report
        self.state.steps_since_train = report.steps_since_train
        self._updates_since_report += report.updates
        for key, value in report.metrics.items():
            self._metric_sums[key] = self._metric_sums.get(key, 0.0) + value * report.updates
        self.step = max(self.step, report.env_steps)
        if not self._stopping:
            self._launch_learner()

    def run_until(self, done: Callable[[], bool], timeout_s: float | None = None) -> bool:
        """Keep everything busy until ``done()``; False if ``timeout_s`` passed first."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while not done():
            if deadline is not None and time.monotonic() > deadline:
                return False
            self.tick()
        return True

    def train(self, resume: bool = False, force: bool = False) -> TrainResult:
        """Run to ``train.total_timesteps``; like the single-process trainer, the run owns its folders,
        and a stop signal or an exception still ends with last.pt written (``finish_run``)."""
        start = time.perf_counter()
        account = ""
        with RunDirectory(self.checkpoint_dir, self.cfg.train.log_dir, resume=resume, force=force, log=self.log):
            with run_outcome() as outcome:
                self.start(resume)
                # After start(): connecting makes Ray install its own SIGTERM handler (which exits at once).
                with stop_signals() as stop:
                    self.run_until(lambda: stop.check() or self.step >= self.cfg.train.total_timesteps)
            stop_reason, failure = outcome.stop_reason, outcome.failure
            try:
                if self._started and hasattr(self, "learner"):
                    account = finish_run(self.finish, self.step, self.checkpoint_dir / "last.pt", failure)
                elif failure is not None:
                    raise failure
            finally:
                self.close()
        return TrainResult(self.step, self.episodes, self.agent.gradient_steps if hasattr(self, "agent") else 0,
                           self.best_score, dict(self.state.last_eval), time.perf_counter() - start, False,
                           stop_reason is not None, stop_reason, account)

    def finish(self) -> Path:
        """Stop launching work, let the calls in flight end, write last.pt (returns its path)."""
        self._stopping = True
        deadline = time.monotonic() + 300
        # The evaluation in flight is awaited too, as the single-machine trainer would have run it.
        while self._inflight and time.monotonic() < deadline:
            self.tick()
        self.report()
        try:
            return self.save("last.pt", with_replay=self.cfg.train.save_replay)
        finally:
            if hasattr(self, "writer"):
                self.writer.flush()
                self.writer.close()
                self.progress.close()

    def close(self) -> None:
        if not self._started:
            return
        for handle in [*getattr(self, "collectors", []), getattr(self, "learner", None), getattr(self, "replay", None)]:
            if handle is not None:
                ray.kill(handle, no_restart=True)
        if self._owns_connection:
            ray.shutdown()
        self._started = False

    # ----- checkpoints and evaluation ----------------------------------------------------------------
    def save(self, name: str, state: dict[str, Any] | None = None, step: int | None = None,
             with_replay: bool = False) -> Path:
        self.agent.load_state_dict(state if state is not None else ray.get(self.learner.state.remote()))
        extra = {"cluster": {"collectors": self.scale.collectors, "lost_steps": self.lost_steps,
                             "collector_restarts": sum(self.restarts)}}
        replay_state = ray.get(self.replay.state_dict.remote()) if with_replay else None
        return self.checkpoints.save(name, self.agent, step=step, replay_state=replay_state, extra=extra)

    def _maybe_save_and_evaluate(self) -> None:
        tcfg = self.cfg.train
        if self.state.save_due():
            if tcfg.keep_step_checkpoints:
                self.save(f"step_{self.step}.pt")
            self.save("last.pt", with_replay=tcfg.save_replay)
        if self.state.evaluation_due():
            if self._eval is not None:
                self.log(f"step {self.step}: the previous evaluation is still running; skipping this one")
                return
            state = ray.get(self.learner.state.remote())
            arrays = {name: tensor.numpy() for name, tensor in state["online"].items()}
            ref = evaluate_weights.remote(self.cfg.to_dict(), arrays, self.obs_dim, self.n_actions)
            self._eval = (ref, state, self.step)
            self._inflight[ref] = ("eval", 0)

    def _on_eval(self, ref: Any) -> None:
        assert self._eval is not None
        _, state, step = self._eval
        self._eval = None
        metrics: dict[str, float] = ray.get(ref)
        for key, value in metrics.items():
            self.writer.add_scalar(key, value, step)
        if self.state.record_evaluation(metrics):
            self.save("best.pt", state=state, step=step)

    # ----- progress and TensorBoard ------------------------------------------------------------------
    def report(self) -> dict[str, float]:
        stats: ReplayStats = ray.get(self.replay.stats.remote())
        now = time.monotonic()
        elapsed = max(now - self._report_time, 1e-6)
        self.step = max(self.step, stats.env_steps)
        version = self.learner_report.weights_version if self.learner_report else 0
        figures: dict[str, float] = {
            "perf/steps_per_second": (stats.env_steps - self._report_step) / elapsed,
            "train/replay_size": float(stats.size),
            "perf/lost_steps": float(self.lost_steps),
            "perf/collector_restarts": float(sum(self.restarts)),
            "perf/updates_per_second": self._updates_since_report / elapsed,
            "train/epsilon": self.epsilon(self.step),
        }
        lags = []
        for name, source in sorted(stats.sources.items()):
            figures[f"perf/steps_per_second/{name}"] = (source.env_steps - self._source_steps.get(name, 0)) / elapsed
            self._source_steps[name] = source.env_steps
            lag = self._lag(version, source)
            if lag is not None:
                figures[f"perf/weight_lag/{name}"] = float(lag)
                lags.append(lag)
        figures["perf/weight_lag_max"] = float(max(lags)) if lags else 0.0
        if self.learner_report is not None:
            figures["perf/gradient_steps"] = float(self.learner_report.gradient_steps)
            figures["learner/skipped_updates"] = float(self.learner_report.skipped_updates)
            figures["train/learning_rate"] = self.learner_report.learning_rate
        if self._updates_since_report:
            for key in METRIC_KEYS:
                if key in self._metric_sums:
                    figures[f"train/{key}"] = self._metric_sums[key] / self._updates_since_report
        if stats.episode_returns:
            figures["rollout/episode_return"] = float(np.mean(stats.episode_returns))
            figures["rollout/episode_length"] = float(np.mean(stats.episode_lengths))
        if stats.lap_times:
            figures["env/lap_time_s"] = float(np.min(stats.lap_times))
        self.state.episodes += len(stats.episode_returns)
        for key, value in figures.items():
            self.writer.add_scalar(key, value, self.step)
        self.progress.update(self.step - self.progress.n)
        self.progress.set_postfix(self._postfix(figures, stats), refresh=False)
        self._report_time, self._report_step = now, stats.env_steps
        self._metric_sums, self._updates_since_report = {}, 0
        self._next_report = now + self.scale.report_interval_s
        self.last_stats = figures
        return figures

    @staticmethod
    def _lag(version: int, source: SourceStats) -> int | None:
        return max(version - source.policy_version, 0) if source.policy_version >= 0 else None

    def _postfix(self, figures: dict[str, float], stats: ReplayStats) -> dict[str, str]:
        postfix = {"sps": f"{figures['perf/steps_per_second']:.0f}"}
        per_source = [(name.replace("collector-", "c"), figures[f"perf/steps_per_second/{name}"])
                      for name in sorted(stats.sources)]
        if len(per_source) <= 6:
            postfix.update({name: f"{value:.0f}" for name, value in per_source})
        postfix["replay"] = f"{stats.size}"
        postfix["lag"] = f"{figures['perf/weight_lag_max']:.0f}"
        postfix["upd/s"] = f"{figures['perf/updates_per_second']:.0f}"
        if "train/loss" in figures:
            postfix["loss"] = f"{figures['train/loss']:.4f}"
        if self.lost_steps:
            postfix["lost"] = str(self.lost_steps)
        if self.best_score is not None:
            postfix["best"] = f"{self.best_score:.2f}"
        return postfix


def train_on_cluster(cfg: Config, cluster: ClusterSettings, scale: ScaleOutSettings, resume: bool = False,
                     log: Callable[[str], None] = print, force: bool = False) -> TrainResult:
    return ClusterTrainer(cfg, cluster, scale, log).train(resume=resume, force=force)
