"""``python -m freefim``: the command line (see :mod:`freefim.cli`)."""
import sys


def run():
    """Entry point: an interrupt at any time, start-up included, exits quietly with status 130."""
    try:
        from .cli import main

        status = main()
    except KeyboardInterrupt:
        sys.stderr.write("freefim: interrupted\n")
        status = 130
    return status


if __name__ == "__main__":
    sys.exit(run())
