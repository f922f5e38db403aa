"""Monte Carlo against theory for smooth activations at width 2,000 (issue 14's acceptance).

For tanh/orthogonal, tanh/gaussian and erf/orthogonal at depths 5 and 20 (sigma_w2 = 1.3,
sigma_b2 = 0.05), one seeded network per case: the Kolmogorov-Smirnov distance of its continuous
spectrum to its own law (the limit law at the network's sampled order parameters) and to the
limit law, and the time.  Run: ``python benchmarks/ks_smooth.py`` (``--width 2000 --depths 5 20``).
"""
import argparse
import time

from freefim import Network
from freefim.montecarlo import compare


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=int, default=2000)
    parser.add_argument("--depths", type=int, nargs="+", default=[5, 20])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(f"{'network':<18}{'depth':>6}{'KS own law':>12}{'KS limit':>10}{'time [s]':>10}")
    for act, weights in (("tanh", "orthogonal"), ("tanh", "gaussian"), ("erf", "orthogonal")):
        for depth in args.depths:
            start = time.perf_counter()
            res = compare(Network(act, weights, 1.3, 0.05, depth), width=args.width, trials=1, seed=args.seed,
                          progress=False)
            print(f"{act + '/' + weights:<18}{depth:>6}{res.ks_per_network:>12.4f}{res.ks:>10.4f}"
                  f"{time.perf_counter() - start:>10.1f}", flush=True)


if __name__ == "__main__":
    main()
