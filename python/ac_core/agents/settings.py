"""The IQN agent's hyperparameters: the config's ``agent`` section.

Declared here, beside the agent, so the agent imports without the environment or the training
config; :mod:`ac_core.config` composes this section with ``env`` and ``train`` and validates all of
them with the one validator of :mod:`ac_core.settings_spec`.
"""

from __future__ import annotations

from dataclasses import dataclass

from ac_core.settings_spec import MAX_STEPS, setting

# Upper bounds that keep a typo from allocating or computing without end. Each is far above any useful
# value (the defaults in brackets); ac_core.config bounds the combinations (activations, replay memory).
MAX_BATCH = 16_384  # [64-512]
MAX_QUANTILES = 1024  # [8-64]; the quantile loss is pairwise: batch × N × N'
MAX_HIDDEN = 4096  # [256-512]; a 4096-wide torso is 16 M weights per layer
MAX_REPLAY = 1_000_000_000  # [10^5-10^6]; the config's memory check is the real limit


@dataclass
class AgentConfig:
    """IQN hyperparameters (research/iqn_and_racing_rl.md §6)."""

    type: str = setting("IQN", choices=("IQN",))
    gamma: float = setting(0.99, low=0.0, low_open=True, high=1.0, doc="discount per step")
    lr: float = setting(3e-4, low=0.0, low_open=True, high=1.0, doc="learning rate (at step 0)")
    lr_end: float = setting(5e-5, low=0.0, low_open=True, high=1.0, doc="learning rate after lr_decay_steps")
    lr_decay_steps: int = setting(0, low=0, high=MAX_STEPS,
                                  doc="env steps of exponential lr decay to lr_end; 0 keeps lr constant")
    batch_size: int = setting(64, low=1, high=MAX_BATCH)
    n_quantiles: int = setting(32, low=1, high=MAX_QUANTILES, doc="N = N': online and target quantile samples")
    n_quantiles_policy: int = setting(32, low=1, high=MAX_QUANTILES,
                                      doc="K: quantile samples for acting and action selection")
    eval_quantiles: int = setting(
        0, low=0, high=MAX_QUANTILES,
        doc="greedy evaluation (training's, ac-core eval, checkpoint demos): Q as the mean over a fixed grid "
            "of this many tau at the midpoints (k + 0.5)/n, without sampling noise; 0: K sampled tau as acting")
    tau_sampling: str = setting("uniform", choices=("uniform", "stratified"),
                                doc="tau for the loss: i.i.d. uniform or stratified-symmetric (needs even N)")
    n_cos: int = setting(64, low=1, high=MAX_HIDDEN, doc="cosines in the tau embedding")
    hidden_units: int = setting(512, low=1, high=MAX_HIDDEN, doc="width of the torso, embedding and heads")
    dueling: bool = setting(True, doc="dueling value/advantage head")
    double_q: bool = setting(True, doc="double DQN: the online network picks the target's next action")
    kappa: float = setting(1.0, low=0.0, low_open=True, high=1000.0, doc="Huber threshold of the quantile loss")
    n_step: int = setting(3, low=1, high=1000)
    target_update: str = setting("soft", choices=("soft", "hard"), doc="Polyak averaging or a periodic copy")
    target_tau: float = setting(0.02, low=0.0, low_open=True, high=1.0, doc="Polyak rate (soft updates)")
    target_update_period: int = setting(4, low=1, high=MAX_STEPS, doc="gradient steps between target updates")
    optimizer: str = setting("adam", choices=("adam", "radam"))
    adam_eps: float = setting(1e-4, low=0.0, low_open=True, high=1.0)
    grad_clip: float = setting(30.0, low=0.0, high=1e6, doc="max gradient norm; 0 disables clipping")
    epsilon_start: float = setting(1.0, low=0.0, high=1.0)
    epsilon_end: float = setting(0.05, low=0.0, high=1.0)
    epsilon_decay_steps: int = setting(250_000, low=0, high=MAX_STEPS, doc="env steps of the linear epsilon decay")
    replay_size: int = setting(1_000_000, low=1, high=MAX_REPLAY, doc="transitions kept (see replay_bytes)")
    learning_starts: int = setting(20_000, low=0, high=MAX_STEPS, doc="transitions in replay before learning")
    train_freq: int = setting(1, low=1, high=1_000_000, doc="env steps per round of gradient steps")
    gradient_steps: int = setting(1, low=1, high=10_000, doc="gradient steps per round")
    prioritized: bool = setting(False, doc="prioritised replay (sum tree)")
    priority_alpha: float = setting(0.6, low=0.0, high=1.0)
    priority_beta_start: float = setting(0.4, low=0.0, high=1.0)
    demo_share: float = setting(0.25, low=0.0, high=1.0,
                                doc="with train.demonstrations: share of each batch taken from the demonstrations")
    demo_margin: float = setting(0.8, low=0.0, high=1000.0,
                                 doc="DQfD's large margin: the demonstrated action must lead the others by this")
    demo_loss_weight: float = setting(1.0, low=0.0, high=1000.0, doc="weight of the large-margin loss")
    demo_fade_steps: int = setting(0, low=0, high=MAX_STEPS,
                                   doc="with train.demonstrations: env steps over which the demonstrations' batch "
                                       "share and large-margin weight fall linearly to zero, so a demonstrator "
                                       "slower than the agent can become stops holding it to its pace (0: full "
                                       "weight for the whole run, as DQfD)")
    demo_pretrain_steps: int = setting(2_000, low=0, high=10_000_000,
                                       doc="with train.demonstrations: gradient steps on the demonstrations "
                                           "alone before the first env step (DQfD's pre-training)")
    priority_beta_steps: int = setting(1_000_000, low=1, high=MAX_STEPS, doc="env steps to anneal beta to 1")
