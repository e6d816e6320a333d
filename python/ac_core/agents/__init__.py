"""Learning agents. IQN: network and loss (iqn), agent (agent), replay buffers (replay)."""

from ac_core.agents.agent import ExponentialSchedule, IQNAgent, LinearSchedule, resolve_device
from ac_core.agents.iqn import IQNNetwork, double_dqn_targets, quantile_huber_loss, sample_taus
from ac_core.agents.replay import NStepAssembler, PrioritizedReplayBuffer, ReplayBatch, ReplayBuffer, SumTree

__all__ = [
    "ExponentialSchedule",
    "IQNAgent",
    "IQNNetwork",
    "LinearSchedule",
    "NStepAssembler",
    "PrioritizedReplayBuffer",
    "ReplayBatch",
    "ReplayBuffer",
    "SumTree",
    "double_dqn_targets",
    "quantile_huber_loss",
    "resolve_device",
    "sample_taus",
]
