import sys

from classroom.worker import main

if sys.argv[1:2] != ["worker"]:
    sys.exit("usage: python -m classroom worker [--database-url URL] [--runs FOLDER]")
sys.exit(main(sys.argv[2:]))
