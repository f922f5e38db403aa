"""``freefim stats`` and ``freefim ntk``: the mean-field statistics of :mod:`freefim.statistics` (FIM of ``T``
samples for regression or softmax outputs, and the neural tangent kernel) and their Monte Carlo."""
from __future__ import annotations

from . import (SMALL_WIDTH, UsageError, add_command, add_option, add_plot_argument, add_seed_argument, integer,
               network_from_args, number, progress_bar)


def _header(command, net, args):
    return (f"freefim {command}: {net.activation.name}/{net.weights}, sigma_w2={net.sigma_w2:g}, "
            f"sigma_b2={net.sigma_b2:g}, depth={net.depth}, M={args.width}, C={args.outputs}, T={args.samples}")


def _check_trials(args):
    if args.trials < 0:
        raise UsageError(f"--mc-trials must be >= 0, got {args.trials}")


def _monte_carlo(summary, theory, args, out, lines):
    """Theory vs Monte Carlo rows (``summary``: ``{name: (mean, stderr)}``) into ``out`` and ``lines``."""
    rows = {}
    for k, (mean, se) in summary.items():
        th = getattr(theory, k)
        rows[k] = {"mean": mean, "stderr": se, "theory": th, "rel_error": abs(mean - th) / abs(th) if th else None}
    out["monte_carlo"] = dict(rows, trials=args.trials, seed=args.seed)
    lines.append(f"Monte Carlo ({args.trials} networks, seed {args.seed}):")
    lines += [f"  {k:<19} {r['mean']:12.6g} +- {r['stderr']:.2g}   theory {r['theory']:12.6g}"
              + (f"   rel. error {r['rel_error']:.2%}" if r["rel_error"] is not None else "") for k, r in rows.items()]
    if args.width < SMALL_WIDTH:
        lines.append(f"note: width {args.width} < {SMALL_WIDTH}: the mean-field statistics are the large-M limit; "
                     "finite-width corrections dominate")


def _stats_command(args):
    from ..statistics import fim_statistics, sample_statistics

    net = network_from_args(args)
    _check_trials(args)
    theory = fim_statistics(net, args.width, args.outputs, args.samples, args.momentum, args.alphas, loss=args.loss,
                            seed=args.seed)
    out = dict(network=net.as_dict(), **theory.as_dict())
    outliers = ", ".join(f"{v:.6g}" for v in theory.outliers[:5]) + (" ..." if len(theory.outliers) > 5 else "")
    lines = [_header("stats", net, args) + f", loss={args.loss}",
             f"kappa_1 = {theory.kappa1:.10g}   kappa_2 = {theory.kappa2:.10g}   alpha = {theory.order.alpha:g}",
             f"mean m = {theory.m:.6g}   second moment s = {theory.s:.6g}   lambda_max = {theory.lambda_max:.6g}",
             f"outliers ({len(theory.outliers)}): {outliers}"]
    if args.loss == "softmax":
        lines.append(f"lambda_max spread over the random logits (sd) = {theory.lambda_max_sd:.4g}; integration "
                     "standard errors: " + ", ".join(f"{k} {v:.2g}" for k, v in theory.integration_se.items()))
        lines.append(f"eta_c (mu={theory.mu:g}) = {theory.eta_c:.6g}")
    else:
        lines.append(f"eta_c (mu={theory.mu:g}) = {theory.eta_c:.6g}   Fisher-Rao norm = {theory.fisher_rao:.6g}")
    if args.trials:
        mc = sample_statistics(net, args.width, args.outputs, args.samples, args.trials, args.seed, args.alphas,
                               progress=progress_bar(args), loss=args.loss)
        _monte_carlo(mc.summary(), theory, args, out, lines)
        out["monte_carlo"]["top_eigenvalues"] = mc.top.mean(axis=0)
    if args.plot:
        from ..plotting import plot_fim_outliers

        plot_fim_outliers(net, args.width, args.outputs, args.samples, trials=max(args.trials, 2), seed=args.seed,
                          alphas=args.alphas).savefig(args.plot, dpi=120, bbox_inches="tight")
        lines.append(f"plot written to {args.plot}")
    return out, "\n".join(lines)


def _ntk_command(args):
    from ..statistics import ntk_statistics, sample_ntk

    net = network_from_args(args)
    _check_trials(args)
    theory = ntk_statistics(net, args.outputs, args.samples, args.alphas)
    out = dict(network=net.as_dict(), width=args.width, **theory.as_dict())
    lines = [_header("ntk", net, args),
             f"kappa_1 = {theory.kappa1:.10g}   kappa_2 = {theory.kappa2:.10g}   alpha = {theory.order.alpha:g}",
             f"NTK JJ^T/M ({args.outputs * args.samples} x {args.outputs * args.samples}): mean eigenvalue "
             f"{theory.mean:.6g}, second moment {theory.second_moment:.6g}",
             f"lambda_max = {theory.lambda_max:.6g} ({args.outputs}-fold), the other "
             f"{args.outputs * (args.samples - 1)} eigenvalues {theory.lambda_rest:.6g}",
             f"T x T Gram matrix summed over outputs: lambda_max = {theory.lambda_max_samples:.6g}"]
    if args.trials:
        mc = sample_ntk(net, args.width, args.outputs, args.samples, args.trials, args.seed, args.alphas,
                        progress=progress_bar(args))
        _monte_carlo(mc.summary(), theory, args, out, lines)
    return out, "\n".join(lines)


def _add_sample_options(p, trials_help):
    add_option(p, "--width", integer, 1000, "width scale M (default %(default)s)")
    p.add_argument("--outputs", "--classes", type=integer, default=1, dest="outputs",
                   help="number of outputs / classes C (default %(default)s)")
    add_option(p, "--samples", integer, 100, "number of input samples T (default %(default)s)")
    add_option(p, "--alphas", number, None, "width ratios alpha_0..alpha_{L-1} (default all 1)", nargs="+")
    add_option(p, "--mc-trials", integer, 0, trials_help, dest="trials")
    add_seed_argument(p, "seed of the Monte Carlo and of the sampled softmax integrals (default %(default)s)")


def add_commands(subparsers):
    """Register ``freefim stats`` and ``freefim ntk``."""
    p = add_command(subparsers, "stats", "mean-field FIM statistics of T samples (regression or softmax; Karakida "
                    "et al.), optional Monte Carlo",
                    "freefim stats --activation tanh --weights gaussian --sigma-w2 3 --sigma-b2 0.64 --loss softmax "
                    "--classes 10 --samples 100 --json", _stats_command)
    # the library checks the value (freefim.statistics.LOSSES), so that building the parser imports nothing heavy
    p.add_argument("--loss", default="regression",
                   help="output law: regression (linear outputs) or softmax (cross-entropy; C = 1 is logistic); "
                   "default %(default)s")
    _add_sample_options(p, "also sample this many networks through the CT x CT dual FIM (default %(default)s)")
    add_option(p, "--momentum", number, 0.0, "momentum mu for eta_c (default %(default)s)")
    add_plot_argument(p, "save histograms of sampled FIM spectra (regression and softmax) with the theory's "
                      "outliers marked", metavar="FILE")
    p = add_command(subparsers, "ntk", "mean-field neural tangent kernel JJ^T/M of T samples, optional Monte Carlo",
                    "freefim ntk --activation relu --weights gaussian --samples 10 --classes 10 --mc-trials 5 --json",
                    _ntk_command)
    _add_sample_options(p, "also sample this many networks (default %(default)s)")
