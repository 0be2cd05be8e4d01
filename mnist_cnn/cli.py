"""Command line: ``python -m mnist_cnn train|evaluate``."""
import argparse
import json
import sys
import tempfile

from mnist_cnn.data import MnistUnavailableError, load_test_set
from mnist_cnn.evaluation import evaluate
from mnist_cnn.model import OPTIMIZERS, ModelFileError, load_bundled_model, load_model
from mnist_cnn.paths import BUNDLED_MODEL_PATH
from mnist_cnn.precomputed import TEST_PROBABILITIES_PATH, TUTORIAL_LAYERS_PATH, write_test_probabilities, write_tutorial_layers
from mnist_cnn.presets import DEFAULT_PRESET, PRESETS
from mnist_cnn.run_folder import find_model_file, unzip_run
from mnist_cnn.training import BOUNDS, BatchEvent, TrainingConfig, train


def _train(args):
    config = TrainingConfig.for_preset(
        args.preset,
        epochs=args.epochs,
        batch_size=args.batch_size,
        optimizer=args.optimizer,
        learning_rate=args.learning_rate,
        train_size=args.train_size,
        seed=args.seed,
        scale_pixels=not args.no_scale_pixels,
    )

    def print_epoch(event):
        if isinstance(event, BatchEvent):
            return
        print(
            f"epoch {event.epoch}/{event.epochs}: loss {event.loss:.4f}, accuracy {event.accuracy:.4f}, "
            f"val_loss {event.val_loss:.4f}, val_accuracy {event.val_accuracy:.4f}, "
            f"{event.samples_per_second:.0f} samples/s, {event.elapsed_seconds:.0f} s",
            flush=True,
        )

    result = train(config, on_event=print_epoch, runs_root=args.out)
    record = result.record
    print(f"test accuracy {record.test_accuracy:.4f}, test loss {record.test_loss:.4f}")
    print(f"run folder: {result.run_dir}")


def _evaluate(args):
    if args.run_or_model is None:
        model_path, model = BUNDLED_MODEL_PATH, load_bundled_model()
    elif str(args.run_or_model).endswith(".zip"):  # a run downloaded from the Train page
        with tempfile.TemporaryDirectory() as unpacked:
            model_path = args.run_or_model
            model = load_model(find_model_file(unzip_run(args.run_or_model, unpacked)))
    else:
        model_path = find_model_file(args.run_or_model)
        model = load_model(model_path)
    x_test, y_test = load_test_set()
    result = evaluate(model, x_test, y_test)
    print(f"model: {model_path}")
    print(json.dumps({**result, "model": str(model_path)}))


def _precompute(args):
    print(f"wrote {write_test_probabilities(args.probabilities)}")
    print(f"wrote {write_tutorial_layers(args.layers)}")


def _preset_defaults(setting):
    """``"tutorial 10, regularized 10"``: a setting's default in every preset, for the help text."""
    return ", ".join(f"{name} {getattr(preset, setting)}" for name, preset in PRESETS.items())


def build_parser():
    parser = argparse.ArgumentParser(prog="python -m mnist_cnn", description="Train and evaluate the MNIST CNN.")
    commands = parser.add_subparsers(dest="command", required=True)

    train_parser = commands.add_parser("train", help="train a model and save a run folder")
    train_parser.add_argument("--preset", default=DEFAULT_PRESET, choices=sorted(PRESETS))
    for setting, kind in (("epochs", int), ("batch_size", int), ("optimizer", None), ("learning_rate", float)):
        train_parser.add_argument(
            "--" + setting.replace("_", "-"),
            type=kind,
            choices=list(OPTIMIZERS) if setting == "optimizer" else None,
            help=f"default: the preset's ({_preset_defaults(setting)})",
        )
    low, high = BOUNDS["train_size"]
    train_parser.add_argument(
        "--train-size", type=int, default=TrainingConfig.train_size, help=f"training images to use ({low}-{high})"
    )
    train_parser.add_argument("--seed", type=int, default=TrainingConfig.seed)
    train_parser.add_argument("--no-scale-pixels", action="store_true", help="feed raw 0-255 pixels (the tutorial's bug)")
    train_parser.add_argument("--out", default=None, help="folder for run folders (default: runs/ or $MNIST_CNN_RUNS)")
    train_parser.set_defaults(handler=_train)

    evaluate_parser = commands.add_parser("evaluate", help="score a model on the bundled MNIST test set")
    evaluate_parser.add_argument(
        "run_or_model", nargs="?",
        help="a run folder, a run's .zip (downloaded from the Train page) or a .keras file (default: the bundled model)",
    )
    evaluate_parser.set_defaults(handler=_evaluate)

    precompute_parser = commands.add_parser(
        "precompute", help="write what the first screen shows without TensorFlow: the bundled model's test "
        "probabilities and the tutorial network's layer table"
    )
    precompute_parser.add_argument("--probabilities", default=TEST_PROBABILITIES_PATH, help="default: %(default)s")
    precompute_parser.add_argument("--layers", default=TUTORIAL_LAYERS_PATH, help="default: %(default)s")
    precompute_parser.set_defaults(handler=_precompute)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        args.handler(args)
    except (ValueError, MnistUnavailableError, ModelFileError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0
