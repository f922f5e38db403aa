"""``freefim sample``, ``compare`` and ``depth-sweep``: finite networks of :mod:`freefim.montecarlo`."""
from __future__ import annotations

from . import (SMALL_WIDTH, add_command, add_option, add_plot_argument, add_seed_argument, integer, network_from_args,
               progress_bar)


def _sampling_arguments(p, width=1000, trials=2, bias=True):
    """The options of a command that samples finite networks."""
    add_option(p, "--width", integer, width, "width M (default %(default)s)")
    add_option(p, "--trials", integer, trials, "number of networks (default %(default)s)")
    add_seed_argument(p)
    add_option(p, "--threads", integer, None, "BLAS threads (default: 1 below width 1500, else all)")
    if bias:
        p.add_argument("--bias", action="store_true", help="include the bias gradients")


def _run_sample(args):
    from ..montecarlo import sample

    net = network_from_args(args)
    smp = sample(net, args.width, args.trials, args.seed, args.bias, progress=progress_bar(args), threads=args.threads)
    summary = smp.summary()
    out = {"network": net.as_dict(), "width": smp.width, "trials": smp.trials, "seed": args.seed, "bias": smp.bias,
           "eigenvalues": smp.eigenvalues, "qh": smp.qh, "p": smp.p, "q": smp.q, "summary": summary}
    text = [f"sampled {smp.trials} network(s) {net.activation.name}/{net.weights}, M={smp.width}, L={net.depth}"]
    text += [f"{k:>10}: {v['mean']:.6g} +- {v['std']:.2g}" for k, v in summary.items()]
    return out, "\n".join(text)


def _run_compare(args):
    from ..montecarlo import compare

    net = network_from_args(args)
    result = compare(net, args.width, args.trials, args.seed, bias=args.bias, progress=progress_bar(args),
                     per_network=args.per_network, threads=args.threads)
    out = result.as_dict()
    if args.plot:
        from ..plotting import plot_comparison

        plot_comparison(result).savefig(args.plot, dpi=120)
        out["plot"] = args.plot
    text = [f"{net.activation.name}/{net.weights} depth {net.depth}: M={args.width}, {args.trials} trial(s), seed {args.seed}",
            f"KS (continuous part) vs limit law {result.ks:.4f}"
            + (f", vs each network's own law {result.ks_per_network:.4f}" if args.per_network else ""),
            f"L1 histogram vs density {result.l1:.4f}"]
    text += [f"atom at {a['location']:.6g}: found {a['found']:.4f}, predicted {a['predicted']:.4f} "
             f"(per network {a['predicted_per_network']:.4f})" for a in result.atoms]
    text += [f"{k}: sampled {v['sampled']:.6g}, exact {v['exact']:.6g}, per network {v['per_network']:.6g}"
             for k, v in result.moments.items()]
    if args.width < SMALL_WIDTH:
        text.append(f"note: width {args.width} < {SMALL_WIDTH}: finite-width corrections of order 1/sqrt(M) dominate")
    if args.plot:
        text.append(f"plot written to {args.plot}")
    return out, "\n".join(text)


def _run_depth_sweep(args):
    from ..montecarlo import depth_sweep

    net = network_from_args(args)
    result = depth_sweep(net, args.depths, args.width, args.trials, args.seed, progress=progress_bar(args),
                         threads=args.threads)
    if args.plot:
        from ..plotting import plot_depth_sweep

        plot_depth_sweep(result).savefig(args.plot, dpi=120)
        result["plot"] = args.plot
    text = [f"{'depth':>6}{'theory peak':>14}{'sample peak':>14}{'theory edge':>14}{'sample edge':>14}"]
    text += [f"{r['depth']:>6}{r['theory_peak']:>14.6g}{r['sample_peak']:>14.6g}{r['theory_edge']:>14.6g}"
             f"{r['sample_edge']:>14.6g}" for r in result["rows"]]
    text += [f"fit {k}: slope {f['slope']:.5g}, intercept {f['intercept']:.5g}, R^2 {f['r2']:.5f}"
             for k, f in result["fits"].items()]
    if args.plot:
        text.append(f"plot written to {args.plot}")
    return result, "\n".join(text)


def add_commands(subparsers):
    """Register ``freefim sample``, ``compare`` and ``depth-sweep``."""
    p = add_command(subparsers, "sample", "exact dual-FIM spectra of sampled finite networks",
                    "freefim sample --width 200 --trials 2 --seed 0 --json", _run_sample)
    _sampling_arguments(p)

    p = add_command(subparsers, "compare", "Monte Carlo vs the free-probability limit (KS, atoms, moments, L1)",
                    "freefim compare --activation hardtanh --sigma-w2 1.2 --sigma-b2 0.05 --depth 5 --width 200",
                    _run_compare)
    _sampling_arguments(p)
    add_plot_argument(p, "draw the histogram over the density")
    p.add_argument("--no-per-network", dest="per_network", action="store_false",
                   help="skip the KS distance to each network's own law (one more solve per network)")

    p = add_command(subparsers, "depth-sweep", "peak and largest edge vs depth, theory and Monte Carlo",
                    "freefim depth-sweep --activation hardtanh --sigma-w2 1.01 --sigma-b2 0.001 --q0 0.1448 "
                    "--depths 2 4 8 --width 100", _run_depth_sweep)
    _sampling_arguments(p, width=500, bias=False)
    add_option(p, "--depths", integer, [2, 4, 8, 16, 32], "depths to solve and sample, each >= 2 (default %(default)s)",
               nargs="+")
    add_plot_argument(p, "draw peak and edge vs depth")
