"""A class room's digits out of the database, for the host: open rooms and closed ones not yet deleted.

    python -m classroom export CODE [--database-url URL] [--out FOLDER]

Writes ``class_digits.npz`` and ``class_digits.csv`` (the Class page's downloads) into ``FOLDER/CODE/``.
"""
import argparse
import sys
from pathlib import Path

from classroom.class_set import ClassSet, ClassSetUnavailableError, csv_text, database_url, npz_bytes
from classroom.rooms import NotAJoinCodeError, Rooms, normalize_join_code


def build_parser(prog="python -m classroom export"):
    parser = argparse.ArgumentParser(prog=prog, description="Save a class's digits (also a closed class's, for 30 days).")
    parser.add_argument("code", help="the class's join code")
    parser.add_argument("--database-url", default=None, help="the app's database URL (default: $MNIST_CNN_CLASS_DB_URL)")
    parser.add_argument("--out", default=".", help="folder to write CODE/class_digits.npz and .csv into (default: here)")
    return parser


def main(argv=None, prog="python -m classroom export"):
    args = build_parser(prog).parse_args(argv)
    try:
        code = normalize_join_code(args.code)
        database = ClassSet(args.database_url or database_url())
        if Rooms(database).find(code, include_closed=True) is None:
            print(f"error: no class with the code {code} is kept in {database.location}.", file=sys.stderr)
            return 2
        digits = database.in_room(code).digits()
    except (NotAJoinCodeError, ClassSetUnavailableError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    folder = Path(args.out) / code
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "class_digits.npz").write_bytes(npz_bytes(digits))
    (folder / "class_digits.csv").write_text(csv_text(digits))
    print(f"Saved {len(digits)} digits of class {code} in {folder}.")
    return 0
