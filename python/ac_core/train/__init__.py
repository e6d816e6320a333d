"""Training: one run state, one evaluation protocol, one replay-ratio counter, and the loops built on them.

- :mod:`~ac_core.train.run_state` — counters, the evaluation/save schedule, best/last, checkpoints, resume
- :mod:`~ac_core.train.evaluation` — seeded greedy episodes → records → summaries (every evaluation)
- :mod:`~ac_core.train.credit` — the replay ratio (updates earned per env step)
- :mod:`~ac_core.train.learners` — where updates run: inline, or a background thread for live backends
- :mod:`~ac_core.train.batched_env` — any Gymnasium env (single or vector) as a batch
- :mod:`~ac_core.train.loop` — the single-process loop (:class:`Trainer`)
- :mod:`~ac_core.train.execution` — execution settings for the machine at hand, the measured ETA
- :mod:`~ac_core.train.racing` — the racing env's settings, factories, step metrics and evaluation
- :mod:`~ac_core.train.checkpoint_eval` — ``ac-core eval``: a checkpoint's evaluation with telemetry and plots

The Ray driver (:mod:`ac_core.distributed.driver`) composes the same run state and evaluation.
"""

from __future__ import annotations

from typing import Any


def train_racing(cfg: Any, resume: bool = False, force: bool = False, eta: Any = None, stop: Any = None) -> Any:
    """Train on the racing env in this process: the generic loop with the racing step metrics and evaluation
    (``eta``: an :class:`~ac_core.train.execution.EtaModel` measured at start, for the progress bar;
    ``stop``: called with each evaluation's metrics, True ends the run there)."""
    from ac_core.train.loop import Trainer, TrainerHooks
    from ac_core.train.racing import SCORE_KEY, SCORE_RULE, lap_metrics, make_env_factory, racing_evaluator

    factory, _ = make_env_factory(cfg)
    hooks = TrainerHooks(step_metrics=lap_metrics, score_key=SCORE_KEY, lower_is_better=True,
                         score_rule=SCORE_RULE, evaluate=racing_evaluator(cfg), stop=stop)
    trainer = Trainer(cfg, factory, hooks=hooks)
    if eta is not None:
        trainer.eta = eta
    return trainer.train(resume=resume, force=force)
