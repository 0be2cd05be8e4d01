import sys

COMMANDS = {"worker": "classroom.worker", "export": "classroom.export"}
USAGE = ("usage: python -m classroom worker [--database-url URL] [--runs FOLDER]\n"
         "       python -m classroom export CODE [--database-url URL] [--out FOLDER]")

command = sys.argv[1] if len(sys.argv) > 1 else None
if command not in COMMANDS:
    sys.exit(USAGE)
module = __import__(COMMANDS[command], fromlist=["main"])  # the worker imports TensorFlow: only when asked
sys.exit(module.main(sys.argv[2:]))
