"""``freefim lr-sweep``: the online-SGD learning-rate experiment of :mod:`freefim.training`."""
from __future__ import annotations

import numpy as np

from . import (UsageError, add_command, add_option, add_plot_argument, add_seed_argument, integer, network_from_args,
               number, progress_bar)


def _lr_sweep_command(args):
    from ..training import lr_sweep

    net = network_from_args(args)
    depths = args.depths or list(range(2, net.depth + 1))
    if min(depths) < 2:
        raise UsageError(f"--depths must be >= 2, got {min(depths)}")
    sweep = lr_sweep(net, depths, args.width, args.steps_per_layer, args.lrs, args.seed, progress=progress_bar(args))
    if args.plot:
        from ..plotting import plot_lr_sweep

        plot_lr_sweep(sweep).savefig(args.plot, dpi=120, bbox_inches="tight")
    out = sweep.as_dict()
    lines = [f"freefim lr-sweep: {net.activation.name}/{net.weights}, sigma_w2={net.sigma_w2:g}, "
             f"sigma_b2={net.sigma_b2:g}, q0={net.q0:g}, M={args.width}, {args.steps_per_layer} steps per layer, "
             f"{len(sweep.lrs)} learning rates, seed {args.seed}",
             f"{'L':>3} {'lambda_edge':>12} {'2/lambda':>10} {'2m1/m2':>10} {'critical lr':>12} {'failed at':>10} "
             f"{'lr*L':>8} {'ratio':>7}"]
    for i, L in enumerate(sweep.depths):
        lines.append(f"{L:3d} {sweep.lambda_edge[i]:12.5g} {sweep.theory_lr[i]:10.4g} {sweep.mean_square_lr[i]:10.4g} "
                     f"{sweep.critical_lr[i]:12.4g} {sweep.failed_lr[i]:10.4g} {sweep.lr_times_depth[i]:8.4g} "
                     f"{sweep.ratio[i]:7.3f}")
    lines.append(f"critical lr x L: max/min = {sweep.spread:.3f}; ratio to 2/lambda: "
                 f"{np.nanmin(sweep.ratio):.3f} .. {np.nanmax(sweep.ratio):.3f}")
    if args.plot:
        lines.append(f"plot written to {args.plot}")
    return out, "\n".join(lines)


def add_commands(subparsers):
    """Register ``freefim lr-sweep`` (its network defaults: :data:`freefim.training.DEFAULT_NETWORK`)."""
    from ..training import DEFAULT_NETWORK

    p = add_command(subparsers, "lr-sweep", "critical learning rate of online SGD vs depth, with 2/lambda_edge",
                    "freefim lr-sweep --depths 2 4 --width 32 --steps-per-layer 20 --json", _lr_sweep_command, depth=16)
    p.set_defaults(**{k: DEFAULT_NETWORK[k] for k in ("activation", "sigma_w2", "sigma_b2", "q0")})
    add_option(p, "--depths", integer, None, "depths to train (default 2..--depth, i.e. 2..16)", nargs="+")
    add_option(p, "--width", integer, 64, "width M of every layer (default %(default)s)")
    add_option(p, "--steps-per-layer", integer, 100, "online steps per unit depth (default %(default)s)")
    add_option(p, "--lrs", number, None, "learning-rate grid (default: 40 geometric)", nargs="+")
    add_seed_argument(p, "seed (default %(default)s)")
    add_plot_argument(p, "save the critical-lr-vs-depth figure here", metavar="FILE")
