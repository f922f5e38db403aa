"""``freefim density`` and ``freefim jacobian``: the limiting spectrum of the conditional FIM, and of the
input-output Jacobian's ``J J^T``, by :mod:`freefim.numeric` (:class:`~freefim.numeric.Spectrum`)."""
from __future__ import annotations

import math

import mpmath
import numpy as np

from . import add_command, add_option, integer, network_from_args, number


def _density(args, jacobian=False):
    from ..numeric import Spectrum
    from ..progress import Progress

    net = network_from_args(args)
    x = None if args.x is None else np.asarray(args.x, dtype=float)
    points = x.size if x is not None else args.points
    # each block is one vectorised solve (its cost per layer does not depend on the points): blocks only
    # for large point counts, so the progress bar does not slow the solve
    blocks = min(10, max(1, points // 5000))
    # long solves (deep networks, many digits) show their stages on a terminal, never with --json
    command = "jacobian" if jacobian else "density"
    with Progress(3 + blocks, f"{command} L={net.depth}", enabled=False if args.json else None) as bar:
        spec = Spectrum(net, dps=args.dps, jacobian=jacobian)
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
    lines = [f"freefim {command}: {net.activation.name}/{net.weights}, sigma_w2={net.sigma_w2:g}, "
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


def _jacobian(args):
    return _density(args, jacobian=True)


def add_commands(subparsers):
    """Register ``freefim density`` and ``freefim jacobian`` (the same options and JSON keys)."""
    for name, help, example, run in [
            ("density", "density, atoms, moments and support of the limiting FIM spectrum",
             "freefim density --activation hardtanh --weights gaussian --sigma-w2 1.1 --sigma-b2 0.05 --depth 4 "
             "--points 50", _density),
            ("jacobian", "the same for the input-output Jacobian's J J^T (squared singular values of df/dx)",
             "freefim jacobian --activation hardtanh --weights orthogonal --sigma-w2 1.1 --sigma-b2 0.05 --depth 4 "
             "--points 50", _jacobian)]:
        p = add_command(subparsers, name, help, example, run)
        group = p.add_mutually_exclusive_group()
        add_option(group, "--points", integer, 200, "number of evenly spaced points (default %(default)s)")
        group.add_argument("--x", type=number, nargs="+", help="evaluate at these points")
        add_option(p, "--dps", integer, None, "refine in mpmath with this many digits (16 to 1000); the density and "
                   "moments are then printed with all of them (JSON: decimal strings)")
