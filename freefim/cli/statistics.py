"""``freefim stats``: the mean-field FIM statistics of :mod:`freefim.statistics` and their Monte Carlo."""
from __future__ import annotations

from . import (SMALL_WIDTH, UsageError, add_command, add_option, add_seed_argument, integer, network_from_args, number,
               progress_bar)


def _stats_command(args):
    from ..statistics import fim_statistics, sample_statistics

    net = network_from_args(args)
    if args.trials < 0:
        raise UsageError(f"--mc-trials must be >= 0, got {args.trials}")
    theory = fim_statistics(net, args.width, args.outputs, args.samples, args.momentum, args.alphas)
    out = dict(network=net.as_dict(), **theory.as_dict())
    lines = [f"freefim stats: {net.activation.name}/{net.weights}, sigma_w2={net.sigma_w2:g}, "
             f"sigma_b2={net.sigma_b2:g}, depth={net.depth}, M={args.width}, C={args.outputs}, T={args.samples}",
             f"kappa_1 = {theory.kappa1:.10g}   kappa_2 = {theory.kappa2:.10g}   alpha = {theory.order.alpha:g}",
             f"mean m = {theory.m:.6g}   second moment s = {theory.s:.6g}   lambda_max = {theory.lambda_max:.6g}",
             f"eta_c (mu={theory.mu:g}) = {theory.eta_c:.6g}   Fisher-Rao norm = {theory.fisher_rao:.6g}"]
    if args.trials:
        mc = sample_statistics(net, args.width, args.outputs, args.samples, args.trials, args.seed, args.alphas,
                               progress=progress_bar(args))
        summary = mc.summary()
        out["monte_carlo"] = {k: {"mean": v[0], "stderr": v[1], "rel_error": abs(v[0] - getattr(theory, k))
                                  / getattr(theory, k)} for k, v in summary.items()}
        out["monte_carlo"]["trials"], out["monte_carlo"]["seed"] = args.trials, args.seed
        lines.append(f"Monte Carlo ({args.trials} networks, seed {args.seed}):")
        lines += [f"  {k:<11} {v[0]:12.6g} +- {v[1]:.2g}   theory {getattr(theory, k):12.6g}   rel. error "
                  f"{abs(v[0] - getattr(theory, k)) / getattr(theory, k):.2%}" for k, v in summary.items()]
        if args.width < SMALL_WIDTH:
            lines.append(f"note: width {args.width} < {SMALL_WIDTH}: the mean-field statistics are the large-M limit; "
                         "finite-width corrections dominate")
    return out, "\n".join(lines)


def add_commands(subparsers):
    """Register ``freefim stats``."""
    p = add_command(subparsers, "stats", "mean-field FIM statistics (Karakida et al. 2019), optional Monte Carlo",
                    "freefim stats --activation tanh --weights gaussian --sigma-w2 3 --sigma-b2 0.64 --samples 100 --json",
                    _stats_command)
    add_option(p, "--width", integer, 1000, "width scale M (default %(default)s)")
    add_option(p, "--outputs", integer, 1, "number of outputs C (default %(default)s)")
    add_option(p, "--samples", integer, 100, "number of input samples T (default %(default)s)")
    add_option(p, "--momentum", number, 0.0, "momentum mu for eta_c (default %(default)s)")
    add_option(p, "--alphas", number, None, "width ratios alpha_0..alpha_{L-1} (default all 1)", nargs="+")
    add_option(p, "--mc-trials", integer, 0, "also sample this many networks through the CT x CT dual FIM "
               "(default %(default)s)", dest="trials")
    add_seed_argument(p, "Monte Carlo seed (default %(default)s)")
