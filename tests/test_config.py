"""Config loading: the seed's example loads as written; every bad value names its key and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from ac_core.config import (
    AgentConfig,
    Config,
    ConfigError,
    EnvConfig,
    TrainConfig,
    config_from_dict,
    load_config,
    override,
    save_config,
)
from ac_core.env.settings import RewardWeights
from ac_core.settings_spec import FieldInfo, check_instance, describe, fields_of

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
    ("agent:\n  batch_size: 64.5\n", ["agent.batch_size = 64.5 is not a whole number; use an integer in [1, 16384]"]),
    ("agent:\n  batch_size: true\n", ["agent.batch_size", "integer"]),
    ("agent:\n  lr: .nan\n", ["agent.lr"]),
    ("agent:\n  type: DQN\n", ["agent.type = 'DQN' is not valid; choose one of: IQN"]),
    ("agent:\n  optimizer: sgd\n", ["agent.optimizer", "choose one of: adam, radam"]),
    ("agent:\n  dueling: yes please\n", ["agent.dueling", "true or false"]),
    ("agent:\n  epsilon_start: 0.1\n  epsilon_end: 0.5\n", ["agent.epsilon_end", "decay"]),
    ("agent:\n  batch_size: 512\n  replay_size: 100\n", ["agent.batch_size", "replay_size"]),
    ("agent:\n  tau_sampling: stratified\n  n_quantiles: 7\n", ["agent.n_quantiles", "odd", "even"]),
    ("agent:\n  tau_sampling: sorted\n", ["agent.tau_sampling", "choose one of: uniform, stratified"]),
    ("env:\n  backend: carla\n", ["env.backend", "sim, sim-live, ac"]),
    ("env:\n  track: ''\n", ["env.track", "non-empty string"]),
    ("env:\n  reward:\n    progress: fast\n", ["env.reward.progress", "number"]),
    ("env:\n  reward: 3\n", ["env.reward", "mapping"]),
    ("env: [1, 2]\n", ["env", "mapping"]),
    ("trian:\n  seed: 1\n", ["trian", "unknown section", "train"]),
    ("train:\n  device: gpu\n", ["train.device = 'gpu' is not valid", "cuda:<index>"]),
    ("train:\n  total_timesteps: 0\n", ["train.total_timesteps = 0 is out of range", "[1, 1_000_000_000_000]"]),
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


# ----- every numeric setting of every section: type, finiteness and range, one message format ------

def _numeric_fields() -> list[tuple[str, str, FieldInfo]]:
    """(section, key, field) for every numeric key of every config section, env.reward included."""
    out = []
    for section, cls in (("env", EnvConfig), ("env.reward", RewardWeights), ("agent", AgentConfig),
                         ("train", TrainConfig)):
        out += [(section, name, info) for name, info in fields_of(cls).items() if info.kind in (int, float)]
    return out


NUMERIC_FIELDS = _numeric_fields()


def _yaml_for(section: str, key: str, value: str) -> str:
    if section == "env.reward":
        return f"env:\n  reward:\n    {key}: {value}\n"
    return f"{section}:\n  {key}: {value}\n"


def _assert_one_line_naming(message: str, path: Path, key: str, shown: str, problem: str, info: FieldInfo) -> None:
    assert "\n" not in message
    fix = f"choose one of: {', '.join(map(str, info.spec.choices))}" if info.spec.choices \
        else f"use {describe(info.kind, info.spec)}"
    assert message == f"{path}: {key} = {shown} {problem}; {fix}", message


@pytest.mark.parametrize(("section", "key", "info"), NUMERIC_FIELDS,
                         ids=[f"{s}.{k}" for s, k, _ in NUMERIC_FIELDS])
def test_every_numeric_key_rejects_non_finite_huge_and_fractional_values(tmp_path: Path, section: str, key: str,
                                                                          info: FieldInfo) -> None:
    path = tmp_path / "bad.yaml"
    cases = [(".nan", "nan", "is not a finite number"), (".inf", "inf", "is not a finite number"),
             ("-.inf", "-inf", "is not a finite number"), ("1e400", "1e400", "is not a finite number"),
             ("[1]", "[1]", f"is not {'an integer' if info.kind is int else 'a number'}"),
             ("true", "True", f"is not {'an integer' if info.kind is int else 'a number'}")]
    if info.spec.high is not None:
        cases.append(("1e15", "1e15", "is out of range"))  # above every bound
    if info.kind is int:
        cases.append(("2.5", "2.5", "is not a whole number"))
    for text, shown, problem in cases:
        path.write_text(_yaml_for(section, key, text))
        with pytest.raises(ConfigError) as e:
            load_config(path)
        _assert_one_line_naming(str(e.value), path, f"{section}.{key}", shown, problem, info)


def test_every_numeric_setting_has_both_bounds_and_every_default_is_in_them() -> None:
    from ac_core.distributed import DistributedSetupError
    from ac_core.distributed.settings import ClusterSettings, ScaleOutSettings
    from ac_core.env.settings import EnvConfigError

    for cls in (EnvConfig, RewardWeights, AgentConfig, TrainConfig, ScaleOutSettings, ClusterSettings):
        for name, info in fields_of(cls).items():  # fields_of refuses a numeric field without both bounds
            if info.kind in (int, float) and info.spec.choices is None:
                assert info.spec.low is not None and info.spec.high is not None, f"{cls.__name__}.{name}"
    for obj in (EnvConfig(), AgentConfig(), TrainConfig()):
        check_instance(obj, error=EnvConfigError)
    check_instance(ScaleOutSettings(), error=DistributedSetupError)
    check_instance(ClusterSettings("local"), error=DistributedSetupError)


@pytest.mark.parametrize("path", sorted((REPO / "configs").glob("*.yaml")), ids=lambda p: p.name)
def test_every_shipped_config_loads_unchanged(path: Path) -> None:
    import yaml

    cfg = load_config(path)
    raw = yaml.safe_load(path.read_text())
    def check(settings: object, values: dict[str, object], where: str) -> None:
        for key, value in values.items():
            got = getattr(settings, key)
            if isinstance(value, dict):  # a nested section, such as env.reward
                check(got, value, f"{where}.{key}")
                continue
            expected = float(value) if isinstance(value, str) and isinstance(got, float) else value
            assert got == expected, f"{where}.{key}"

    for section, values in raw.items():
        check(getattr(cfg, section), values, section)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("agent:\n  dueling: 1\n", "agent.dueling = 1 is not a boolean; use true or false"),
        ("agent:\n  optimizer: 3\n", "agent.optimizer = 3 is not a string; choose one of: adam, radam"),
        ("train:\n  log_dir: [a]\n", "train.log_dir = ['a'] is not a string; use a non-empty string"),
        ("env:\n  lap_start: grid\n", "env.lap_start = 'grid' is not valid; choose one of: pit_out, flying, "
                                      "standing, random"),
        ("env:\n  csp_sim_state_version: 2\n", "env.csp_sim_state_version = 2 is not valid; choose one of: 1, 0"),
        ("env:\n  reward: [1]\n", "env.reward = [1] is not a mapping; write it as key: value lines with keys "
                                  "from: progress, time, off_track, off_track_progress, collision, smoothness"),
        ("env:\n  reward:\n    speed: 1\n", "env.reward.speed is an unknown key; valid keys in env.reward: progress"),
        ("agent:\n  gama: 0.9\n", "agent.gama is an unknown key (did you mean gamma?); valid keys in agent: type"),
        ("env:\n  weather: snow\n", "env.weather = 'snow' is not valid; choose one of: clear"),
        ("env:\n  backend: ac\n  lap_start: random\n", "env.lap_start = 'random' needs backend sim or csp (teleports)"
                                                       "; choose one of: pit_out, flying, standing"),
    ],
)
def test_wrong_types_and_choices_name_the_key_and_what_is_valid(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as e:
        load_config(path)
    assert str(e.value).startswith(f"{path}: {message}"), str(e.value)
    assert "\n" not in str(e.value)


@pytest.mark.parametrize(
    ("assignment", "message"),
    [
        ("agent.hidden_units=1e12", "--set: agent.hidden_units = 1e12 is out of range; use an integer in [1, 4096]"),
        ("env.reward.progress=.nan", "--set: env.reward.progress = nan is not a finite number; use a number in "
                                     "[0, 1000]"),
        ("env.ray_count=100000", "--set: env.ray_count = 100000 is out of range; use an integer in [1, 360]"),
        ("env.max_laps=.inf", "--set: env.max_laps = inf is not a finite number; use an integer in [0, 10000]"),
        ("train.seed=-1", "--set: train.seed = -1 is out of range; use an integer in [0, 4_294_967_295]"),
        ("env.n_envs=2.5", "--set: env.n_envs = 2.5 is not a whole number; use an integer in [1, 4096]"),
        ("env.reward.progress.x=1", "--set 'env.reward.progress.x=1': env.reward.progress is not a section"),
    ],
)
def test_set_overrides_go_through_the_same_checks(assignment: str, message: str) -> None:
    with pytest.raises(ConfigError) as e:
        override(Config(), [assignment])
    assert str(e.value).startswith(message), str(e.value)


def test_nested_set_override_changes_one_reward_weight() -> None:
    cfg = override(Config(), ["env.reward.progress=0.5"])
    assert cfg.env.reward.progress == 0.5 and cfg.env.reward.time == Config().env.reward.time


@pytest.mark.parametrize(
    ("agent", "fragment"),
    [
        ({"batch_size": 16384, "n_quantiles": 1024}, "batch_size × n_quantiles × hidden_units = 8_589_934_592"),
        ({"batch_size": 16384, "n_quantiles": 512, "hidden_units": 64}, "batch_size × n_quantiles² = 4_294_967_296"),
        ({"n_quantiles_policy": 1024, "hidden_units": 4096}, "env.n_envs × n_quantiles_policy × hidden_units"),
    ],
)
def test_tensor_sizes_of_the_network_are_bounded(agent: dict, fragment: str) -> None:
    env = {"n_envs": 512} if "n_quantiles_policy" in agent else {}
    with pytest.raises(ConfigError) as e:
        config_from_dict({"agent": {"replay_size": 100_000, **agent}, "env": env}, "x.yaml")
    assert fragment in str(e.value) and "keep the product at most 1_073_741_824" in str(e.value), str(e.value)


def test_a_replay_larger_than_this_machine_is_refused_with_the_size_that_fits(tmp_path: Path) -> None:
    from ac_core.agents.settings import MAX_REPLAY
    from ac_core.config import physical_memory, replay_bytes

    memory = physical_memory()
    if memory is None:
        pytest.skip("this OS does not report its physical memory through sysconf")
    per = replay_bytes(Config()) // Config().agent.replay_size
    fits = int(memory * 0.8) // per
    if fits >= MAX_REPLAY:
        pytest.skip("this machine holds the largest replay the range allows")
    path = tmp_path / "big.yaml"
    path.write_text(f"agent:\n  replay_size: {fits + 1}\n")
    with pytest.raises(ConfigError) as e:
        load_config(path)
    message = str(e.value)
    assert message.startswith(f"{path}: agent.replay_size = {fits + 1} needs ") and "\n" not in message
    assert message.endswith(f"use at most {fits:_}" if fits >= 100_000 else f"use at most {fits}")
    path.write_text(f"agent:\n  replay_size: {fits}\n")
    assert load_config(path).agent.replay_size == fits  # the advice works (nothing is allocated here)
    with pytest.raises(ConfigError, match=r"^--set: agent\.replay_size"):
        override(Config(), [f"agent.replay_size={fits + 1}"])


def test_a_stored_config_from_a_bigger_machine_still_loads() -> None:
    from ac_core.agents.settings import MAX_REPLAY

    # config_from_dict (checkpoints, the learner's config on a game box) checks ranges, not this machine.
    assert config_from_dict({"agent": {"replay_size": MAX_REPLAY}}).agent.replay_size == MAX_REPLAY


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"collectors": -1}, "--collectors = -1 is out of range; use an integer in [0, 1024]"),
        ({"chunk_steps": float("nan")}, "chunk_steps = nan is not a finite number; use an integer in [1, 1_000_000]"),
        ({"collector_cpus": float("inf")}, "collector_cpus = inf is not a finite number; use a number in [0, 1024]"),
        ({"sync_every": 2.5}, "sync_every = 2.5 is not a whole number; use an integer in [1, 1_000_000]"),
        ({"learner_slice_s": 0}, "learner_slice_s = 0 is out of range; use a number in (0, 3600]"),
    ],
)
def test_cluster_settings_use_the_same_checks(kwargs: dict, message: str) -> None:
    from ac_core.distributed import DistributedSetupError
    from ac_core.distributed.settings import ScaleOutSettings

    with pytest.raises(DistributedSetupError) as e:
        ScaleOutSettings(**kwargs)
    assert str(e.value) == message


def test_cluster_connection_options_are_named_by_their_flags() -> None:
    from ac_core.distributed import DistributedSetupError
    from ac_core.distributed.settings import ClusterSettings

    with pytest.raises(DistributedSetupError, match=r"^--local-cpus = 0 is out of range; use an integer in \[1, 4096"):
        ClusterSettings("local", local_cpus=0)
    with pytest.raises(DistributedSetupError, match=r"^--connect-timeout = nan is not a finite number"):
        ClusterSettings("ray://head:10001", connect_timeout_s=float("nan"))
    assert ClusterSettings("local", local_cpus=4.0).local_cpus == 4  # an integral float is coerced


def test_lap_starts_are_the_simulators_plus_random() -> None:
    from ac_core import sim
    from ac_core.env import settings as env_settings

    assert (*sim.LAP_STARTS, "random") == env_settings.LAP_STARTS
    for name in sim.LAP_STARTS:  # every name the env hands the simulator is one it knows
        assert sim.make_sim(1, lap_start=name).size == 1
    with pytest.raises(ValueError, match="unknown lap_start 'random'"):
        sim.make_sim(1, lap_start="random")


def test_a_shipped_config_loads_by_name_and_an_unknown_name_lists_them(tmp_path: Path, monkeypatch) -> None:
    from ac_core.config import load_config, shipped_config_names

    monkeypatch.chdir(tmp_path)  # no configs/ folder here: the name is resolved from the package
    names = shipped_config_names()
    assert {"iqn_spa_cpu", "iqn_spa_falpha2022"} <= set(names)
    assert load_config("iqn_spa_cpu").agent.hidden_units == load_config("iqn_spa_cpu.yaml").agent.hidden_units
    from ac_core.config import keys_set_in

    assert "agent.hidden_units" in keys_set_in("iqn_spa_cpu")  # what `ac-core train` keeps as written
    with pytest.raises(ConfigError, match="iqn_spa_cpu") as err:
        load_config("iqn_spa_typo")
    assert "\n" not in str(err.value)
