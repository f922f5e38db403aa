"""The ``freefim`` command line.

Every command takes the network options of :func:`add_network_arguments`, prints a
short human-readable report by default and one JSON object with ``--json``.  A
user mistake exits with status 2 and one line on stderr naming the bad value;
never a traceback.

Commands live next to the layer they expose: each module listed in
:data:`COMMAND_MODULES` has ``add_commands(subparsers)`` registering its
sub-parsers, each with ``set_defaults(run=function(args) -> (json_obj, text))``.
"""
from __future__ import annotations

import argparse
import importlib
import json
import math
import sys
import warnings

import mpmath
import numpy as np

from .activations import ACTIVATIONS
from .network import MAX_DEPTH, WEIGHT_LAWS, Network

__all__ = ["main", "add_network_arguments", "network_from_args", "to_json", "number", "integer", "UsageError"]

#: modules that register sub-commands (``add_commands(subparsers)``)
COMMAND_MODULES = ["freefim.cli", "freefim.montecarlo", "freefim.symbolic", "freefim.statistics", "freefim.training",
                   "freefim.criticality"]


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
    "outputs": (1, 10 ** 4, "--outputs"),
    "samples": (1, 10 ** 4, "--samples"),
    "steps_per_layer": (1, 10 ** 6, "--steps-per-layer"),
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


def add_network_arguments(parser, depth=3):
    """The options that describe a network (shared by every command)."""
    parser.add_argument("--activation", default="relu",
                        help=f"activation ({', '.join(ACTIVATIONS)}; default %(default)s)")
    parser.add_argument("--weights", default="orthogonal", help=f"weight law ({' or '.join(WEIGHT_LAWS)}; default %(default)s)")
    parser.add_argument("--sigma-w2", type=number, default=2.0, action=_Given,
                        help="weight variance sigma_w^2 (default %(default)s)")
    parser.add_argument("--sigma-b2", type=number, default=0.1, action=_Given,
                        help="bias variance sigma_b^2 (default %(default)s)")
    parser.add_argument("--depth", type=integer, default=depth, help="number of weight matrices L (default %(default)s)")
    parser.add_argument("--q0", type=number, default=1.0, action=_Given, help="input norm |x|^2/M (default %(default)s)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    # issue 6: the order-chaos edge (freefim.criticality.critical_network)
    parser.add_argument("--critical", action="store_true",
                        help="put the network on the order-chaos edge: sigma_w2, sigma_b2 and q0 (= qh*) from "
                        "--q-star, or q* solved from an explicit --sigma-b2")
    parser.add_argument("--q-star", type=number, default=None, help="fixed point q* > 0 (needs --critical)")


def network_from_args(args):
    """Build (and so validate) the :class:`Network` the options describe (``--critical``: see
    :func:`freefim.criticality.critical_network`)."""
    if getattr(args, "critical", False):
        from .criticality import critical_network

        return critical_network(args)
    if getattr(args, "q_star", None) is not None:
        raise UsageError(f"--q-star {args.q_star:g} needs --critical")
    return Network(args.activation, args.weights, args.sigma_w2, args.sigma_b2, args.depth, args.q0)


def to_json(obj):
    """Plain JSON types (numpy scalars/arrays, mpmath numbers, tuples) for ``json.dumps``."""
    if isinstance(obj, dict):
        return {str(k): to_json(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_json(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return [to_json(v) for v in obj.tolist()]
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if obj is None or isinstance(obj, str):
        return obj
    value = float(obj)
    return value if math.isfinite(value) else None  # JSON has no inf/nan: null (the key says what it means)


# ---------------------------------------------------------------------- density
def _density(args):
    from .numeric import Spectrum
    from .progress import Progress

    net = network_from_args(args)
    x = None if args.x is None else np.asarray(args.x, dtype=float)
    points = x.size if x is not None else args.points
    # each block is one vectorised solve (its cost per layer does not depend on the points): blocks only
    # for large point counts, so the progress bar does not slow the solve
    blocks = min(10, max(1, points // 5000))
    # long solves (deep networks, many digits) show their stages on a terminal, never with --json
    with Progress(3 + blocks, f"density L={net.depth}", enabled=False if args.json else None) as bar:
        spec = Spectrum(net, dps=args.dps)
        bar.update()
        support = spec.support()
        bar.update()
        if x is None:
            if support:
                lo, hi = float(support[0][0]), float(support[-1][1])
                pad = 0.05 * (hi - lo)
                x = np.linspace(max(lo - pad, 0.0), hi + pad, args.points)
            else:
                x = np.linspace(0.0, 2 * float(spec.moments.m1), args.points)
        parts = []
        for chunk in np.array_split(x, blocks):
            parts.append(np.asarray(spec.density(chunk), dtype=object if args.dps else float))
            bar.update()
        dens = np.concatenate(parts)
        peak = spec.peak() if support else None
        bar.update()
    moments = spec.moments
    # with --dps the moments and the density keep their digits: JSON decimal strings, wider table
    exact = (lambda v: mpmath.nstr(v, args.dps)) if args.dps else float
    shown = (lambda v: mpmath.nstr(v, args.dps)) if args.dps else (lambda v: f"{float(v):.10g}")
    out = {
        "network": net.as_dict(),
        "x": x,
        "density": [exact(v) for v in dens],
        "atoms": [{"location": exact(a.location), "mass": exact(a.mass)} for a in spec.atoms],
        "moments": {"m1": exact(moments.m1), "m2": exact(moments.m2)},
        "support": [[exact(e) for e in iv] for iv in support],
    }
    if args.dps:
        out["dps"] = args.dps
    lines = [f"freefim density: {net.activation.name}/{net.weights}, sigma_w2={net.sigma_w2:g}, "
             f"sigma_b2={net.sigma_b2:g}, depth={net.depth}, q0={net.q0:g}",
             f"moments: m1 = {shown(moments.m1)}, m2 = {shown(moments.m2)}",
             "support: " + (", ".join(f"[{shown(a)}, {shown(b)}]" for a, b in support) or "(none: atoms only)"),
             "atoms:   " + (", ".join(f"{shown(a.mass)} at {shown(a.location)}" for a in spec.atoms) or "(none)")]
    if peak is not None:
        # a density diverging at an edge: height null and "diverges": true
        diverges = math.isinf(peak.height)
        out["peak"] = {"location": exact(peak.location), "height": None if diverges else exact(peak.height),
                       "diverges": diverges}
        lines.append(f"peak:    density {'inf' if diverges else shown(peak.height)} at x = {shown(peak.location)}")
    step = max(1, len(x) // 20)
    lines.append(f"{'x':>16}  {'density':>14}")
    lines += [f"{xi:16.8g}  {shown(di):>14}" for xi, di in zip(x[::step], dens[::step])]
    return out, "\n".join(lines)


def add_commands(subparsers):
    p = subparsers.add_parser("density", help="density, atoms, moments and support of the limiting FIM spectrum",
                              formatter_class=argparse.RawDescriptionHelpFormatter,
                              epilog="example:\n  freefim density --activation hardtanh --weights gaussian --sigma-w2 1.1 --sigma-b2 0.05 --depth 4 --points 50")
    add_network_arguments(p)
    group = p.add_mutually_exclusive_group()
    group.add_argument("--points", type=integer, default=200, help="number of evenly spaced points (default %(default)s)")
    group.add_argument("--x", type=number, nargs="+", help="evaluate at these points")
    p.add_argument("--dps", type=integer, default=None,
                   help="refine in mpmath with this many digits (16 to 1000); the density and moments are then "
                   "printed with all of them (JSON: decimal strings)")
    p.set_defaults(run=_density)


# ---------------------------------------------------------------------- entry point
def build_parser():
    parser = _Parser(prog="freefim", description="Spectrum of the Fisher information matrix of deep random "
                     "networks by free probability.")
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
