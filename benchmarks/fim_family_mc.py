"""Theory vs Monte Carlo for the FIM of T samples (regression and softmax) and the NTK over widths (issue 19).

For each output law, C in {1, 10}, T in {1, 10, 100} and width M, prints the mean-field value, the
Monte Carlo mean +- standard error over ``--trials`` networks and their relative difference, for
m, s and lambda_max (FIM) and for the NTK's mean, second moment, lambda_max and the T x T Gram
matrix's lambda_max.  The softmax logits stay random at infinite width (lambda_max has a spread of
~10% over them), so for the FIM the finite-width error is also measured per network against the
mean-field value *at that network's own logits* (column ``fw.err``: mean over trials of
|MC - theory(logits)| / theory(logits)); for regression this is the same theory.  The summary at
the end gives, per width, the mean of these errors over the settings: the finite-width error,
which must shrink with M (like M^-1/2).

    python benchmarks/fim_family_mc.py [--widths 250 500 1000 2000] [--trials 8] [--seed 0]
"""
import argparse
import time

import numpy as np

from freefim import Network
from freefim.statistics import fim_statistics, ntk_statistics, sample_ntk, sample_statistics


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--widths", type=int, nargs="+", default=[250, 500, 1000, 2000])
    parser.add_argument("--classes", type=int, nargs="+", default=[1, 10])
    parser.add_argument("--samples", type=int, nargs="+", default=[1, 10, 100])
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--activation", default="tanh")
    parser.add_argument("--sigma-w2", type=float, default=3.0)
    parser.add_argument("--sigma-b2", type=float, default=0.64)
    parser.add_argument("--depth", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    net = Network(args.activation, "gaussian", args.sigma_w2, args.sigma_b2, args.depth)
    print(f"{args.activation}/gaussian ({args.sigma_w2:g}, {args.sigma_b2:g}), L={args.depth}; "
          f"{args.trials} networks per row, seed {args.seed}")
    print(f"{'kind':<11}{'C':>3}{'T':>5}{'M':>6}  {'stat':<19}{'MC mean':>12}{'+-se':>10}{'theory':>12}"
          f"{'rel.err':>9}{'fw.err':>9}")
    finite = {}  # (kind, stat) -> {M: [per-setting finite-width errors]}
    start = time.perf_counter()
    for kind in ("regression", "softmax", "ntk"):
        for C in args.classes:
            for T in args.samples:
                for M in args.widths:
                    rng = np.random.default_rng([args.seed, C, T, M])
                    if kind == "ntk":
                        theory = ntk_statistics(net, C, T)
                        mc = sample_ntk(net, M, C, T, args.trials, rng, progress=False)
                        fw = {k: np.mean(np.abs(getattr(mc, k) - getattr(theory, k))) / getattr(theory, k)
                              for k in mc.summary()}
                    else:
                        theory = fim_statistics(net, M, C, T, loss=kind, seed=args.seed)
                        mc = sample_statistics(net, M, C, T, args.trials, rng, progress=False, loss=kind)
                        fw = {k: np.mean(np.abs(getattr(mc, k) - v) / v) for k, v in mc.given_logits.items()}
                    for stat, (mean, se) in mc.summary().items():
                        th = getattr(theory, stat)
                        finite.setdefault((kind, stat), {}).setdefault(M, []).append(fw[stat])
                        print(f"{kind:<11}{C:>3}{T:>5}{M:>6}  {stat:<19}{mean:12.5g}{se:10.2g}{th:12.5g}"
                              f"{abs(mean - th) / th:9.2%}{fw[stat]:9.2%}", flush=True)
    print(f"finite-width error (mean over C in {args.classes}, T in {args.samples}) per width "
          f"[{time.perf_counter() - start:.0f} s]:")
    for (kind, stat), by_width in finite.items():
        errs = [np.mean(by_width[M]) for M in args.widths]
        slope = np.polyfit(np.log(args.widths), np.log(errs), 1)[0] if len(args.widths) > 1 else float("nan")
        print(f"  {kind:<11}{stat:<19}" + "".join(f"  M={M}: {e:6.2%}" for M, e in zip(args.widths, errs))
              + f"   log-log slope {slope:+.2f}")


if __name__ == "__main__":
    main()
