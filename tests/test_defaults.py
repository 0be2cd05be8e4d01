"""Presets are the one source of training defaults; the config and the CLI derive theirs from them."""
from mnist_cnn.cli import build_parser
from mnist_cnn.model import OPTIMIZER_TITLES, OPTIMIZERS
from mnist_cnn.presets import DEFAULT_PRESET, PRESETS
from mnist_cnn.training import BOUNDS, TrainingConfig

PRESET_SETTINGS = ("epochs", "batch_size", "optimizer", "learning_rate")


def test_training_config_defaults_are_the_default_presets():
    assert TrainingConfig() == TrainingConfig.for_preset(DEFAULT_PRESET)
    for name, preset in PRESETS.items():
        config = TrainingConfig.for_preset(name)
        assert {setting: getattr(config, setting) for setting in PRESET_SETTINGS} == {
            setting: getattr(preset, setting) for setting in PRESET_SETTINGS
        }
    assert TrainingConfig().train_size == BOUNDS["train_size"][1]


def test_cli_offers_the_optimizer_table_and_states_the_real_defaults():
    parser = build_parser()
    train_parser = parser._subparsers._group_actions[0].choices["train"]
    actions = {action.dest: action for action in train_parser._actions}
    assert actions["optimizer"].choices == list(OPTIMIZERS)
    assert actions["preset"].choices == sorted(PRESETS) and actions["preset"].default == DEFAULT_PRESET
    for setting in PRESET_SETTINGS:
        for name, preset in PRESETS.items():
            assert f"{name} {getattr(preset, setting)}" in actions[setting].help
    low, high = BOUNDS["train_size"]
    assert f"({low}-{high})" in actions["train_size"].help

    args = parser.parse_args(["train"])
    assert (args.train_size, args.seed) == (TrainingConfig.train_size, TrainingConfig.seed)
    assert all(getattr(args, setting) is None for setting in PRESET_SETTINGS)  # the chosen preset decides


def test_every_optimizer_has_a_title():
    assert OPTIMIZER_TITLES == {"adam": "Adam", "sgd": "SGD", "rmsprop": "RMSprop"}
