"""The ``freefim`` command line: a layer over the library, which never imports it.

Every command takes the network options of :func:`add_network_arguments`, prints a
short human-readable report by default and one JSON object with ``--json``.  A
user mistake exits with status 2 and one line on stderr naming the bad value;
never a traceback.

This package holds the entry points (:func:`main`, :func:`build_parser`) and the option
helpers shared by the commands (:func:`add_command`, :func:`add_network_arguments`,
:func:`add_option` and the repeated options ``--json``, ``--weights``, ``--seed``, ``--plot``;
:func:`network_from_args`, :func:`number`, :func:`integer`, :class:`UsageError`; ``--json`` output
through :func:`freefim.jsonable.to_json`).  The commands live in one module per library layer, listed in
:data:`COMMAND_MODULES`: :mod:`freefim.cli.density` (:mod:`freefim.numeric`),
:mod:`freefim.cli.montecarlo`, :mod:`freefim.cli.symbolic`, :mod:`freefim.cli.statistics`,
:mod:`freefim.cli.training`, :mod:`freefim.cli.criticality` and :mod:`freefim.cli.natgrad` (the library
module of the same name).  Each has ``add_commands(subparsers)`` registering its sub-parsers, each with
``set_defaults(run=function(args) -> (json_obj, text))``; a command function translates the
options to plain arguments of the library, which it imports only when it runs, so that the
command line starts quickly.
"""
from __future__ import annotations

import argparse
import importlib
import json
import math
import sys
import warnings


from ..activations import ACTIVATIONS
from ..jsonable import to_json
from ..network import MAX_DEPTH, WEIGHT_LAWS, Network

__all__ = ["main", "build_parser", "add_command", "add_network_arguments", "add_option", "add_json_argument",
           "add_weights_argument", "add_seed_argument", "add_plot_argument", "progress_bar", "network_from_args",
           "number", "integer", "check_limits", "UsageError", "COMMAND_MODULES"]

#: modules that register sub-commands (``add_commands(subparsers)``), one per library layer
COMMAND_MODULES = ["freefim.cli.density", "freefim.cli.montecarlo", "freefim.cli.symbolic", "freefim.cli.statistics",
                   "freefim.cli.training", "freefim.cli.criticality", "freefim.cli.natgrad", "freefim.cli.reproduce"]


#: below this width the O(M^-1/2) corrections to the limit laws are large; the text outputs say so
SMALL_WIDTH = 50

#: bounds of the integer options of every command (a size beyond them cannot fit in memory or
#: would run for days): ``dest -> (lowest, highest, option)``, checked before any computation
INTEGER_LIMITS = {
    "depth": (1, MAX_DEPTH, "--depth"),
    "depths": (1, MAX_DEPTH, "--depths"),
    "points": (1, 10 ** 6, "--points"),
    "width": (1, 10 ** 4, "--width"),
    "trials": (0, 10 ** 5, "--trials"),
    "seed": (0, 2 ** 63 - 1, "--seed"),
    "dps": (16, 1000, "--dps"),
    "outputs": (1, 10 ** 4, "--outputs/--classes"),
    "samples": (1, 10 ** 4, "--samples"),
    "steps_per_layer": (1, 10 ** 6, "--steps-per-layer"),
    "steps": (1, 10 ** 7, "--steps"),
    "batch": (1, 10 ** 6, "--batch"),
    "threads": (1, 1024, "--threads"),
}


def check_limits(args):
    """Refuse an integer option outside :data:`INTEGER_LIMITS`, naming the option and the value."""
    for dest, (low, high, option) in INTEGER_LIMITS.items():
        values = getattr(args, dest, None)
        for value in values if isinstance(values, list) else [values]:
            if value is not None and not low <= value <= high:
                raise UsageError(f"{option} must be an integer in [{low}, {high}], got {value}")


def check_plot_target(path):
    """Before any computation: matplotlib is installed and ``path`` can be written (its folder exists
    and its extension is a format matplotlib writes)."""
    import importlib.util
    import os

    if importlib.util.find_spec("matplotlib") is None:
        raise UsageError(f"--plot {path} needs matplotlib: pip install 'freefim[plot]'")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise UsageError(f"--plot {path}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise UsageError(f"--plot {path}: folder {folder} is not writable")
    ext = os.path.splitext(path)[1].lower().lstrip(".")
    formats = ("png", "pdf", "svg", "jpg", "jpeg", "eps", "ps", "tif", "tiff", "webp", "pgf", "svgz")
    if ext not in formats:
        raise UsageError(f"--plot {path}: unknown image format {ext!r}; expected one of {', '.join(formats)}")


class UsageError(ValueError):
    """A user mistake on the command line (exit status 2)."""


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("allow_abbrev", False)  # "--sigma-w 2" is a typo, not --sigma-w2
        super().__init__(*args, **kwargs)

    def error(self, message):  # one line, exit 2, as argparse does, without the usage block
        raise UsageError(message)


def number(text):
    """A finite real number; NaN and inf are refused here, naming the value."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def integer(text):
    """An integer option; anything else is refused naming the value."""
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None


class _Given(argparse.Action):
    """Store the value and record in ``args.given`` that the option was given explicitly."""

    def __call__(self, parser, namespace, values, option_string=None):
        setattr(namespace, self.dest, values)
        given = set(getattr(namespace, "given", ()) or ())
        given.add(self.dest)
        namespace.given = given


def add_command(subparsers, name, help, example, run, network=True, depth=3):
    """Register the sub-command ``name``: its parser (``help``, the ``example`` command line as its
    epilog), the network options of :func:`add_network_arguments` unless ``network`` is false, and
    ``run(args) -> (json_obj, text)``.  Returns the parser, for the command's own options."""
    p = subparsers.add_parser(name, help=help, formatter_class=argparse.RawDescriptionHelpFormatter,
                              epilog=f"example:\n  {example}")
    if network:
        add_network_arguments(p, depth=depth)
    p.set_defaults(run=run)
    return p


def add_option(parser, flag, type, default, help, **kwargs):
    """``parser.add_argument(flag, type=type, default=default, help=help, ...)``: one typed option."""
    return parser.add_argument(flag, type=type, default=default, help=help, **kwargs)


def add_json_argument(parser):
    """``--json``: print one JSON object."""
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def add_weights_argument(parser):
    """``--weights``: the weight law."""
    parser.add_argument("--weights", default="orthogonal", help=f"weight law ({' or '.join(WEIGHT_LAWS)}; default %(default)s)")


def add_seed_argument(parser, help="random seed (default %(default)s)"):
    """``--seed`` of a command that draws random networks."""
    add_option(parser, "--seed", integer, 0, help)


def add_plot_argument(parser, help, metavar="FILE.png"):
    """``--plot FILE``: a figure (checked writable by :func:`check_plot_target` before any computation)."""
    parser.add_argument("--plot", default=None, metavar=metavar, help=help)


def progress_bar(args):
    """The ``progress`` argument of a long library run: a bar on a terminal, never with ``--json``."""
    return None if not args.json else False


def add_network_arguments(parser, depth=3):
    """The options that describe a network (shared by every command)."""
    parser.add_argument("--activation", default="relu",
                        help=f"activation ({', '.join(ACTIVATIONS)}; default %(default)s)")
    add_weights_argument(parser)
    add_option(parser, "--sigma-w2", number, 2.0, "weight variance sigma_w^2 (default %(default)s)", action=_Given)
    add_option(parser, "--sigma-b2", number, 0.1, "bias variance sigma_b^2 (default %(default)s)", action=_Given)
    add_option(parser, "--depth", integer, depth, "number of weight matrices L (default %(default)s)")
    add_option(parser, "--q0", number, 1.0, "input norm |x|^2/M (default %(default)s)", action=_Given)
    parser.add_argument("--widths", type=number, nargs="+", metavar="N",
                        help="relative layer widths n_0 ... n_L (depth + 1 numbers; default: all equal)")
    add_json_argument(parser)
    # issue 6: the order-chaos edge (freefim.criticality.critical_network)
    parser.add_argument("--critical", action="store_true",
                        help="put the network on the order-chaos edge: sigma_w2, sigma_b2 and q0 (= qh*) from "
                        "--q-star, or q* solved from an explicit --sigma-b2")
    add_option(parser, "--q-star", number, None, "fixed point q* > 0 (needs --critical)")


def network_from_args(args):
    """Build (and so validate) the :class:`Network` the options describe (``--critical``: see
    :func:`freefim.criticality.critical_network`; an explicitly given ``--q0`` is kept)."""
    if getattr(args, "critical", False):
        from ..criticality import critical_network

        given = getattr(args, "given", set())
        if "sigma_w2" in given:
            raise UsageError("--sigma-w2 cannot be combined with --critical (it sets sigma_w2)")
        if args.q_star is not None and "sigma_b2" in given:
            raise UsageError("give --q-star or --sigma-b2 with --critical, not both")
        if args.q_star is None and "sigma_b2" not in given:
            raise UsageError("--critical needs --q-star Q (or an explicit --sigma-b2 B to solve for q*)")
        net = critical_network(args.activation, args.weights, args.depth, q_star=args.q_star,
                               sigma_b2=None if args.q_star is not None else args.sigma_b2,
                               q0=args.q0 if "q0" in given else None)
        return net.replace(widths=args.widths) if getattr(args, "widths", None) else net
    if getattr(args, "q_star", None) is not None:
        raise UsageError(f"--q-star {args.q_star:g} needs --critical")
    return Network(args.activation, args.weights, args.sigma_w2, args.sigma_b2, args.depth, args.q0,
                   getattr(args, "widths", None))


# ---------------------------------------------------------------------- entry point
class _Version(argparse.Action):
    """``--version``: print ``freefim VERSION`` (package metadata, read only when asked) and exit 0."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, help=None):
        super().__init__(option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser, namespace, values, option_string=None):
        from .. import __version__

        print(f"freefim {__version__}")
        parser.exit()


def build_parser():
    """The ``freefim`` parser with every command of :data:`COMMAND_MODULES` registered."""
    parser = _Parser(prog="freefim", description="Spectrum of the Fisher information matrix of deep random "
                     "networks by free probability.")
    parser.add_argument("--version", action=_Version, help="print the version of freefim and exit")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMAND_MODULES:
        importlib.import_module(name).add_commands(subparsers)
    return parser


def _one_line_warning(message, category, filename, lineno, file=None, line=None):
    """A library warning (e.g. :class:`~freefim.numeric.AccuracyWarning`) as one line on stderr."""
    print(f"freefim: warning: {message}".replace("\n", " "), file=sys.stderr)


def main(argv=None):
    """Run the CLI; returns the exit status (0, or 2 for a user mistake)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return 2
        check_limits(args)
        if getattr(args, "plot", None):
            check_plot_target(args.plot)
        with warnings.catch_warnings():
            warnings.showwarning = _one_line_warning  # restored on exit: the library is not touched
            result, text = args.run(args)
    except KeyboardInterrupt:
        print("freefim: interrupted", file=sys.stderr)
        return 130
    except ValueError as exc:  # UsageError, argparse errors and validation errors from the library
        print(f"freefim: error: {exc}".replace("\n", " "), file=sys.stderr)
        return 2
    try:
        print(json.dumps(to_json(result)) if getattr(args, "json", False) else text)
        sys.stdout.flush()
    except BrokenPipeError:  # e.g. `freefim density | head`: the reader left, nothing to report
        sys.stdout = None
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
