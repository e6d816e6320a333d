"""Config loading: the seed's example loads as written; every bad value names its key and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from ac_core.config import (
    AgentConfig,
    Config,
    ConfigError,
    EnvConfig,
    config_from_dict,
    load_config,
    override,
    save_config,
)

REPO = Path(__file__).resolve().parents[1]
SEED_CONFIG = REPO / "configs" / "iqn_spa_falpha2022.yaml"


def test_seed_config_loads_exactly_as_written() -> None:
    cfg = load_config(SEED_CONFIG)
    assert cfg.env.track == "spa"
    assert cfg.env.car == "FormulaAlpha2022"
    assert cfg.env.weather == "clear"
    assert cfg.env.lap_start == "pit_out"
    assert cfg.agent.type == "IQN"
    assert cfg.agent.gamma == 0.99
    # PyYAML reads `3e-4` as a string; the loader coerces it.
    assert cfg.agent.lr == 0.0003 and isinstance(cfg.agent.lr, float)
    assert cfg.agent.batch_size == 64
    assert cfg.agent.n_quantiles == 32
    assert cfg.agent.hidden_units == 512
    assert cfg.train.total_timesteps == 5_000_000 and isinstance(cfg.train.total_timesteps, int)
    assert cfg.train.eval_interval == 50_000
    assert cfg.train.save_interval == 100_000
    # Keys the seed does not mention take their defaults.
    assert cfg.agent.n_quantiles_policy == 32 and cfg.agent.n_cos == 64
    assert cfg.env.backend == "sim"
    assert cfg.train.device == "auto" and cfg.train.log_dir == "logs"


def test_seed_config_keys_are_the_seed_readme_keys() -> None:
    import yaml

    raw = yaml.safe_load(SEED_CONFIG.read_text())
    assert raw == {
        "env": {"track": "spa", "car": "FormulaAlpha2022", "weather": "clear", "lap_start": "pit_out"},
        "agent": {"type": "IQN", "gamma": 0.99, "lr": "3e-4", "batch_size": 64, "n_quantiles": 32,
                  "hidden_units": 512},
        "train": {"total_timesteps": 5_000_000, "eval_interval": 50_000, "save_interval": 100_000},
    }


def test_recommended_racing_config_loads() -> None:
    cfg = load_config(REPO / "configs" / "iqn_spa_falpha2022_linesight.yaml")
    assert cfg.agent.tau_sampling == "stratified" and cfg.agent.n_quantiles == 8
    assert cfg.agent.lr == 1e-3 and cfg.agent.lr_end == 5e-5 and cfg.agent.lr_decay_steps == 3_000_000
    assert cfg.agent.optimizer == "radam" and cfg.env.n_envs == 8


def test_empty_file_gives_defaults(tmp_path: Path) -> None:
    path = tmp_path / "empty.yaml"
    path.write_text("")
    assert load_config(path) == Config()


def test_round_trip_through_yaml(tmp_path: Path) -> None:
    cfg = override(load_config(SEED_CONFIG), ["env.reward={progress: 0.01, time: 1.2}", "agent.n_step=5"])
    path = tmp_path / "saved.yaml"
    save_config(cfg, path)
    again = load_config(path)
    assert again == cfg
    reward = again.to_dict()["env"]["reward"]
    assert reward["progress"] == 0.01 and reward["time"] == 1.2


def test_override_parses_values_like_the_file() -> None:
    cfg = override(Config(), ["agent.lr=1e-4", "agent.optimizer=radam", "train.device=cpu",
                              "agent.prioritized=true", "train.total_timesteps=2_000"])
    assert cfg.agent.lr == pytest.approx(1e-4)
    assert cfg.agent.optimizer == "radam"
    assert cfg.agent.prioritized is True
    assert cfg.train.total_timesteps == 2000
    assert Config().agent.lr == 3e-4  # the original is untouched


@pytest.mark.parametrize(
    "assignment, fragments",
    [
        ("agent.lr", ["section.key=value"]),
        ("lr=1", ["section.key=value"]),
        ("model.lr=1", ["unknown section 'model'", "agent"]),
        ("agent.lr=-1e-4", ["agent.lr", "(0, 1]"]),
    ],
)
def test_bad_override_names_the_problem(assignment: str, fragments: list[str]) -> None:
    with pytest.raises(ConfigError) as info:
        override(Config(), [assignment])
    for fragment in fragments:
        assert fragment in str(info.value)


def test_integral_floats_and_numeric_strings_coerce() -> None:
    cfg = config_from_dict({"agent": {"replay_size": 1e6, "batch_size": "128", "gamma": "0.995"},
                            "train": {"total_timesteps": "5_000_000"}})
    assert cfg.agent.replay_size == 1_000_000 and isinstance(cfg.agent.replay_size, int)
    assert cfg.agent.batch_size == 128
    assert cfg.agent.gamma == 0.995
    assert cfg.train.total_timesteps == 5_000_000


BAD_FILES = [
    ("agent:\n  lr: -3e-4\n", ["agent.lr", "(0, 1]"]),
    ("agent:\n  lr: 0\n", ["agent.lr", "(0, 1]"]),
    ("agent:\n  gamma: 1.5\n", ["agent.gamma", "(0, 1]"]),
    ("agent:\n  gamma: 0\n", ["agent.gamma", "(0, 1]"]),
    ("agent:\n  gama: 0.9\n", ["agent.gama", "unknown key", "gamma"]),
    ("agent:\n  batch_size: sixty-four\n", ["agent.batch_size", "integer", "sixty-four"]),
    ("agent:\n  batch_size: 64.5\n", ["agent.batch_size", "fraction"]),
    ("agent:\n  batch_size: true\n", ["agent.batch_size", "integer"]),
    ("agent:\n  lr: .nan\n", ["agent.lr"]),
    ("agent:\n  type: DQN\n", ["agent.type", "'IQN'"]),
    ("agent:\n  optimizer: sgd\n", ["agent.optimizer", "'adam'", "'radam'"]),
    ("agent:\n  dueling: yes please\n", ["agent.dueling", "true or false"]),
    ("agent:\n  epsilon_start: 0.1\n  epsilon_end: 0.5\n", ["agent.epsilon_end", "decay"]),
    ("agent:\n  batch_size: 512\n  replay_size: 100\n", ["agent.batch_size", "replay_size"]),
    ("agent:\n  tau_sampling: stratified\n  n_quantiles: 7\n", ["agent.n_quantiles", "odd", "even"]),
    ("agent:\n  tau_sampling: sorted\n", ["agent.tau_sampling", "'uniform'", "'stratified'"]),
    ("env:\n  backend: carla\n", ["env.backend", "sim, sim-live, ac"]),
    ("env:\n  track: ''\n", ["env.track", "non-empty string"]),
    ("env:\n  reward:\n    progress: fast\n", ["env.reward.progress", "number"]),
    ("env:\n  reward: 3\n", ["env.reward", "mapping"]),
    ("env: [1, 2]\n", ["env", "mapping"]),
    ("trian:\n  seed: 1\n", ["trian", "unknown section", "train"]),
    ("train:\n  device: gpu\n", ["train.device", "'cuda'"]),
    ("train:\n  total_timesteps: 0\n", ["train.total_timesteps", "[1, inf)"]),
    ("- just\n- a list\n", ["expected a mapping"]),
    ("agent:\n  lr: [3e-4\n", ["not valid YAML"]),
]


@pytest.mark.parametrize("text, fragments", BAD_FILES)
def test_bad_file_error_names_the_file_and_key(tmp_path: Path, text: str, fragments: list[str]) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert str(path) in message
    for fragment in fragments:
        assert fragment in message, message


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.yaml")


def test_env_to_kwargs_is_a_plain_copy() -> None:
    env = EnvConfig(reward={"progress": 0.01})
    kwargs = env.to_kwargs()
    assert kwargs["track"] == "spa" and kwargs["car"] == "FormulaAlpha2022"
    assert kwargs["backend"] == "sim" and kwargs["control_hz"] == 20.0 and "n_envs" not in kwargs
    kwargs["reward"]["progress"] = 5.0
    assert env.reward.progress == 0.01


def test_defaults_follow_the_research_recommendation() -> None:
    agent = AgentConfig()
    assert agent.n_cos == 64 and agent.n_quantiles_policy == 32 and agent.n_step == 3
    assert agent.target_update == "soft" and agent.adam_eps == 1e-4 and agent.grad_clip == 30.0
