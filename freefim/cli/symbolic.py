"""``freefim closed-form``: the algebraic equation and closed forms of :mod:`freefim.symbolic` (sympy)."""
from __future__ import annotations

import numpy as np

from . import UsageError, add_command, network_from_args, number


def _closed_form_command(args):
    import sympy as sp

    from ..symbolic import RADICAL_DEPTH, closed_form

    net = network_from_args(args)
    limit = RADICAL_DEPTH[net.weights]
    if net.depth > limit:
        raise UsageError(f"closed forms by radicals exist up to depth {limit} for {net.weights} weights, got depth "
                         f"{net.depth}; use freefim density for deeper networks")
    cf = closed_form(net)
    if args.latex:
        return {"network": net.as_dict(), "latex": cf.latex()}, cf.latex()
    x = np.asarray(args.x if args.x is not None else [], dtype=float)
    density = cf.density(x) if x.size else np.empty(0)
    values = {str(k): float(v) for k, v in cf._values().items()}
    out = {
        "network": net.as_dict(),
        "polynomial": str(cf.polynomial),
        "degree": int(cf.degree),
        "parameters": {str(k): {"exact": str(v), "value": values[str(k)]} for k, v in cf.parameters.items()},
        "latex": cf.latex(),
        "edges": cf.edges(),
        "atoms": [{"location": float(sp.sympify(a).subs(cf._values())), "mass": float(sp.sympify(m).subs(cf._values())),
                   "exact_location": str(a), "exact_mass": str(m)} for a, m in cf.atoms],
        "x": x,
        "density": density,
    }
    lines = [f"freefim closed-form: {net.activation.name}/{net.weights}, sigma_w2={net.sigma_w2:g}, "
             f"sigma_b2={net.sigma_b2:g}, depth={net.depth}, q0={net.q0:g}",
             f"P(z, G) = {cf.polynomial} = 0   (degree {cf.degree} in G)"]
    lines += [f"  {k} = {v['exact']} = {v['value']:.15g}" for k, v in out["parameters"].items()]
    lines.append("edges: " + (", ".join(f"{e:.12g}" for e in out["edges"]) or "(none)"))
    lines.append("atoms: " + (", ".join(f"{a['mass']:.12g} at {a['location']:.12g}" for a in out["atoms"]) or "(none)"))
    lines += [f"density({xi:.8g}) = {di:.12g}" for xi, di in zip(x, density)]
    return out, "\n".join(lines)


def add_commands(subparsers):
    """Register ``freefim closed-form``."""
    p = add_command(subparsers, "closed-form", "algebraic equation P(z, G) = 0, closed-form density, edges, atoms",
                    "freefim closed-form --activation relu --weights orthogonal --sigma-w2 2 --sigma-b2 0.1 --depth 3 "
                    "--x 4 5 6", _closed_form_command)
    p.add_argument("--x", type=number, nargs="+", help="evaluate the closed-form density at these points")
    p.add_argument("--latex", action="store_true", help="print only the LaTeX of P(z, G) = 0 and of the physical root G(z)")
