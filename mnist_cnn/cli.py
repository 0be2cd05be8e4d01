"""Command line: ``python -m mnist_cnn train|evaluate``."""
import argparse
import json
import sys

from mnist_cnn.presets import PRESETS


def _train(args):
    from mnist_cnn.training import BatchEvent, TrainingConfig, train

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
    metrics = result.metrics
    print(f"test accuracy {metrics['test_accuracy']:.4f}, test loss {metrics['test_loss']:.4f}")
    print(f"run folder: {result.run_dir}")


def _evaluate(args):
    from mnist_cnn.data import load_test_set
    from mnist_cnn.evaluation import evaluate
    from mnist_cnn.model import load_bundled_model, load_model
    from mnist_cnn.paths import BUNDLED_MODEL_PATH
    from mnist_cnn.runs import find_model_file

    if args.run_or_model is None:
        model_path, model = BUNDLED_MODEL_PATH, load_bundled_model()
    else:
        model_path = find_model_file(args.run_or_model)
        model = load_model(model_path)
    x_test, y_test = load_test_set()
    result = evaluate(model, x_test, y_test)
    print(f"model: {model_path}")
    print(json.dumps({**result, "model": str(model_path)}))


def build_parser():
    parser = argparse.ArgumentParser(prog="python -m mnist_cnn", description="Train and evaluate the MNIST CNN.")
    commands = parser.add_subparsers(dest="command", required=True)

    train_parser = commands.add_parser("train", help="train a model and save a run folder")
    train_parser.add_argument("--preset", default="tutorial", choices=sorted(PRESETS))
    train_parser.add_argument("--epochs", type=int, help="default: the preset's (10)")
    train_parser.add_argument("--batch-size", type=int, help="default: the preset's (128)")
    train_parser.add_argument("--optimizer", choices=["adam", "sgd", "rmsprop"], help="default: the preset's (adam)")
    train_parser.add_argument("--learning-rate", type=float, help="default: the preset's")
    train_parser.add_argument("--train-size", type=int, default=60000, help="training images to use (1000-60000)")
    train_parser.add_argument("--seed", type=int, default=0)
    train_parser.add_argument("--no-scale-pixels", action="store_true", help="feed raw 0-255 pixels (the tutorial's bug)")
    train_parser.add_argument("--out", default=None, help="folder for run folders (default: runs/ or $MNIST_CNN_RUNS)")
    train_parser.set_defaults(handler=_train)

    evaluate_parser = commands.add_parser("evaluate", help="score a model on the bundled MNIST test set")
    evaluate_parser.add_argument("run_or_model", nargs="?", help="a run folder or .keras file (default: the bundled model)")
    evaluate_parser.set_defaults(handler=_evaluate)
    return parser


def main(argv=None):
    from mnist_cnn.data import MnistUnavailableError
    from mnist_cnn.model import ModelFileError

    args = build_parser().parse_args(argv)
    try:
        args.handler(args)
    except (ValueError, MnistUnavailableError, ModelFileError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0
