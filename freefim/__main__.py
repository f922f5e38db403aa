"""``python -m freefim``: the command line (see :mod:`freefim.cli`)."""
import os
import signal
import sys


def _interrupted(signum, frame):
    """Ctrl-C: one line on stderr and status 130, wherever the interpreter is (imports, C callbacks, shutdown)."""
    os.write(2, b"freefim: interrupted\n")
    os._exit(130)


def run():
    """Entry point: an interrupt at any time, start-up included, exits quietly with status 130."""
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:  # leave an ignored SIGINT ignored
        signal.signal(signal.SIGINT, _interrupted)
    try:
        from .cli import main

        status = main()
    except KeyboardInterrupt:
        sys.stderr.write("freefim: interrupted\n")
        status = 130
    return status


if __name__ == "__main__":
    sys.exit(run())
