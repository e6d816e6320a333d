"""Training on the racing environment: the generic IQN trainer plus the racing hooks."""

from __future__ import annotations

from typing import Any

from ac_core.config import Config
from ac_core.racing import RacingEvaluator, env_settings_from_config, lap_metrics
from ac_core.trainer import Trainer, TrainerHooks, TrainResult


def make_env_factory(cfg: Config, **overrides: Any):
    """A factory for the training env: N batched cars on ``sim``, one car on the live backends."""
    settings = env_settings_from_config(cfg.env.to_kwargs(), **overrides)
    n_envs = int(cfg.env.n_envs)

    def factory() -> Any:
        from ac_core.env import AssettoCorsaEnv, make_vector

        if settings.backend == "sim":
            return make_vector(n_envs, settings)
        if n_envs != 1:
            raise ValueError(
                f"env.n_envs = {n_envs}, but backend {settings.backend!r} drives one car; set env.n_envs=1"
            )
        return AssettoCorsaEnv(settings)

    return factory, settings


LAP_SECONDS_ALLOWED = 240.0  # an evaluation episode's time per lap: a slow but complete lap fits


def evaluation_overrides(settings: Any, laps: int = 1) -> dict[str, Any]:
    """Env settings that turn a training env into an evaluation one: ``laps`` timed laps from a flying
    start (training may start anywhere on the lap, "random", which a lap time cannot), with time for
    every lap whatever the training episodes' limit."""
    overrides: dict[str, Any] = {"max_laps": laps}
    if settings.lap_start == "random":
        overrides["lap_start"] = "flying"
    overrides["max_episode_seconds"] = max(settings.max_episode_seconds, LAP_SECONDS_ALLOWED * laps)
    return overrides


def train_racing(cfg: Config, resume: bool = False, force: bool = False) -> TrainResult:
    factory, settings = make_env_factory(cfg)
    hooks = TrainerHooks(step_metrics=lap_metrics, score_key="eval/score", lower_is_better=True)
    if settings.backend == "sim":
        # Evaluation: greedy, fixed seed, one episode per car, one timed lap (evaluation_overrides).
        eval_settings = env_settings_from_config(cfg.env.to_kwargs(), **evaluation_overrides(settings))

        def make_eval_env(cars: int) -> Any:
            from ac_core.env import make_vector

            return make_vector(cars, eval_settings)

        hooks.evaluate = RacingEvaluator(make_eval_env, int(cfg.train.eval_episodes), int(cfg.train.seed) + 1_000_003)
    trainer = Trainer(cfg, factory, hooks=hooks)
    return trainer.train(resume=resume, force=force)
