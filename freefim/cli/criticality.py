"""``freefim critical``: the order–chaos edge of :mod:`freefim.criticality` (``--critical`` of every
other command is :func:`freefim.cli.network_from_args`)."""
from __future__ import annotations

from . import UsageError, add_command, add_json_argument, add_option, add_weights_argument, number


def _critical(args):
    from ..criticality import critical_point

    if (args.q_star is None) == (args.sigma_b2 is None):
        raise UsageError("give exactly one of --q-star and --sigma-b2")
    crit = critical_point(args.activation, args.weights, q_star=args.q_star, sigma_b2=args.sigma_b2)
    out = crit.as_dict()
    width = max(len(k) for k in out)
    lines = [f"freefim critical: {crit.activation}/{crit.weights} on the order-chaos edge (chi = 1)"]
    for key, value in out.items():
        if key not in ("activation", "weights"):
            lines.append(f"{key:<{width}}  {value:.12g}")
    lines.append(f"(use --sigma-w2 {crit.sigma_w2:.12g} --sigma-b2 {crit.sigma_b2:.12g} --q0 {crit.qh_star:.12g},"
                 f" or --critical --q-star {crit.q_star:.12g})")
    return out, "\n".join(lines)


def add_commands(subparsers):
    """Register ``freefim critical``."""
    p = add_command(subparsers, "critical", "critical sigma_w2, sigma_b2, q* (order-chaos edge) and the moments of "
                    "phi'^2", "freefim critical --activation tanh --q-star 0.01", _critical, network=False)
    p.add_argument("--activation", default="tanh", help="activation (default %(default)s)")
    add_weights_argument(p)
    group = p.add_mutually_exclusive_group()
    add_option(group, "--q-star", number, None, "fixed point q* (sets sigma_w2 and sigma_b2)")
    add_option(group, "--sigma-b2", number, None, "bias variance (q* is solved for)")
    add_json_argument(p)
