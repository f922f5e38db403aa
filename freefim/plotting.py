"""Figures (matplotlib is an optional dependency, imported inside each function)."""
from __future__ import annotations

import numpy as np

__all__ = ["plot_statistics_vs_width", "plot_lr_sweep", "plot_comparison", "plot_depth_sweep", "plot_jacobian_vs_fim",
           "plot_fim_outliers", "plot_natgrad"]


def plot_statistics_vs_width(results, title=None):
    r"""Theory vs Monte Carlo for :math:`m_\lambda, s_\lambda, \lambda_{max}` over growing width.

    ``results``: list of ``(FIMStatistics, MonteCarloStatistics)`` pairs (one per width),
    as returned by :func:`freefim.statistics.fim_statistics` and
    :func:`freefim.statistics.sample_statistics`.  Returns the figure
    (Karakida, Akaho & Amari 2019, Fig. 1).
    """
    import matplotlib.pyplot as plt

    results = sorted(results, key=lambda r: r[0].width)
    widths = np.array([th.width for th, _ in results])
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.4))
    for ax, name, label in zip(axes, ("m", "s", "lambda_max"), (r"mean $m_\lambda$", r"second moment $s_\lambda$",
                                                                r"$\lambda_{max}$")):
        theory = np.array([getattr(th, name) for th, _ in results])
        mean = np.array([mc.summary()[name][0] for _, mc in results])
        err = np.array([mc.summary()[name][1] for _, mc in results])
        ax.plot(widths, theory, "-", color="C0", label="mean-field theory")
        ax.errorbar(widths, mean, yerr=err, fmt="o", color="k", ms=4, capsize=3, label="Monte Carlo")
        ax.set_xscale("log")
        if name != "s":
            ax.set_yscale("log")
        ax.set_xlabel("width M")
        ax.set_title(label)
    axes[0].legend(fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_lr_sweep(sweep, ax=None):
    r"""Critical learning rate of online SGD vs depth with :math:`2/\lambda_{edge}` (Hayase & Karakida 2021).

    Each depth shows the largest grid learning rate that trained and, as a bar, the
    interval up to the first one that failed; lines: :math:`2/\lambda_{edge}` and the
    mean-square limit :math:`2m_1/m_2`.  ``sweep`` is an :class:`freefim.training.LRSweep`.
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3.8))
    depths = np.asarray(sweep.depths)
    crit, failed = sweep.critical_lr, sweep.failed_lr
    # one-sided bars: the critical rate lies between the largest grid rate that trained (dot) and
    # the first grid rate that failed (top of the bar)
    ax.errorbar(depths, crit, yerr=[np.zeros_like(crit), np.where(np.isfinite(failed), failed - crit, 0)],
                fmt="o", color="k", capsize=3, label="largest lr that trains (bar: up to the first that fails)")
    ax.plot(depths, sweep.theory_lr, "-", color="C3", label=r"$2/\lambda_{edge}$ (FIM spectrum)")
    ax.plot(depths, sweep.mean_square_lr, "--", color="C0", label=r"$2 m_1/m_2$")
    ref = np.nanmedian(crit * depths)
    ax.plot(depths, ref / depths, ":", color="gray", label=r"$\propto 1/L$")
    ax.set_xscale("log")
    ax.set_yscale("log")
    from matplotlib.ticker import FuncFormatter, NullFormatter, ScalarFormatter

    ax.set_xticks(depths)  # one labelled tick per depth, no overlapping minor labels
    ax.xaxis.set_major_formatter(ScalarFormatter())
    ax.xaxis.set_minor_formatter(NullFormatter())
    plain = FuncFormatter(lambda v, _: f"{v:g}")
    ax.yaxis.set_major_formatter(plain)
    ax.yaxis.set_minor_formatter(plain)
    ax.set_xlabel("depth L")
    ax.set_ylabel("learning rate")
    net = sweep.network
    ax.set_title(f"online SGD, {net['activation']}/{net['weights']}, $\\sigma_w^2$={net['sigma_w2']:g}, "
                 f"$\\sigma_b^2$={net['sigma_b2']:g}, M={sweep.width}", fontsize=9)
    ax.legend(fontsize=7)
    return ax.figure


def plot_comparison(comparison):
    """Histogram of the sampled continuous spectrum over the theory's density, atoms marked.

    ``comparison``: a :class:`freefim.montecarlo.Comparison`.  The histogram is normalised
    to the continuous part (area 1), the density likewise (divided by its mass).
    """
    import matplotlib.pyplot as plt

    spec, smp = comparison.spectrum, comparison.sample
    net = smp.network
    fig, ax = plt.subplots(figsize=(6, 3.8))
    edges = comparison.bins
    if edges.size:
        ax.stairs(comparison.histogram, edges, fill=True, alpha=0.4, color="C0",
                  label=f"M={smp.width}, {smp.trials} network(s), atoms split off")
        x = np.linspace(edges[0], edges[-1], 1500)
        mass = 1 - spec.atom_mass
        ax.plot(x, spec.density(x) / mass, color="C3", lw=1.5, label="limit law (continuous part)")
        if comparison.own:
            # the mixture of each network's own law (its sampled qh_l, p_l), weighted like the histogram
            total = sum(n for _, n in comparison.own)
            mixture = sum(n / total * law.conditional_density(x) for law, n in comparison.own)
            ax.plot(x, mixture, color="C2", lw=1.2, ls="--", label="each network's own law (mixture)")
        ax.set_ylim(0, 1.6 * comparison.histogram.max())  # integrable edge divergences would flatten the rest
    for atom in spec.atoms:
        ax.axvline(atom.location, color="k", ls=":", lw=1)
        ax.annotate(f"atom {atom.mass:.3f}", (atom.location, 0.95), xycoords=("data", "axes fraction"),
                    rotation=90, va="top", ha="right", fontsize=8)
    ax.set_xlabel("eigenvalue of $JJ^T$ ($J = \\partial f/\\partial x$)" if smp.jacobian else "eigenvalue of $JJ^T/M$")
    ax.set_ylabel("density")
    ax.set_title(f"{net.activation.name}/{net.weights}, $\\sigma_w^2$={net.sigma_w2:g}, "
                 f"$\\sigma_b^2$={net.sigma_b2:g}, L={net.depth}: KS={comparison.ks:.3f}")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_depth_sweep(sweep):
    """Peak location and largest edge of the FIM spectrum vs depth, theory and Monte Carlo,
    with the straight-line fits (``sweep`` from :func:`freefim.montecarlo.depth_sweep`)."""
    import matplotlib.pyplot as plt

    rows = sweep["rows"]
    depths = np.array([r["depth"] for r in rows])
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for ax, key, label in zip(axes, ("peak", "edge"), ("peak location", "largest edge")):
        theory = np.array([r[f"theory_{key}"] for r in rows])
        mc = np.array([r[f"sample_{key}"] for r in rows])
        err = np.array([r[f"sample_{key}_std"] for r in rows])
        ax.plot(depths, theory, "o-", color="C3", label="free probability")
        ax.errorbar(depths, mc, yerr=err, fmt="s", color="k", ms=4, capsize=3, label=f"Monte Carlo M={sweep['width']}")
        fit = sweep["fits"][f"theory_{key}"]
        ax.plot(depths, fit["slope"] * depths + fit["intercept"], ":", color="C3",
                label=f"fit slope {fit['slope']:.3g}, $R^2$={fit['r2']:.4f}")
        ax.set_xlabel("depth L")
        ax.set_ylabel(label)
        ax.legend(fontsize=8)
    net = sweep["network"]
    fig.suptitle(f"{net['activation']}/{net['weights']}, $\\sigma_w^2$={net['sigma_w2']:g}, $\\sigma_b^2$={net['sigma_b2']:g}")
    fig.tight_layout()
    return fig


def plot_jacobian_vs_fim(networks, width=None, trials=1, seed=0, points=400, bins=60):
    r"""The input-output Jacobian's :math:`JJ^T` next to the conditional FIM, versus depth.

    ``networks``: networks of one family at growing depths (e.g. ``critical_point(...).network(L)``).
    Left: the Jacobian's law at each depth (:func:`freefim.jacobian_spectrum`); middle: the FIM's
    (:func:`freefim.spectrum`); right: versus depth, the Jacobian's mean and standard deviation
    (exact moments) and the FIM's peak (:meth:`Spectrum.peak <freefim.numeric.Spectrum.peak>`) and
    largest edge.  With ``width``, histograms of ``trials`` sampled networks per depth
    (seeded; :func:`freefim.montecarlo.sample`) under the curves.  Near dynamical isometry the
    Jacobian's law stays put while the FIM's peak moves linearly with depth (Hayase & Karakida 2021).
    Returns ``(figure, rows)``, ``rows`` the numbers drawn on the right.
    """
    import freefim
    import matplotlib.pyplot as plt

    from .montecarlo import sample

    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    rng = np.random.default_rng(seed)
    rows = []
    for i, net in enumerate(networks):
        color = f"C{i % 10}"
        row = {"depth": net.depth}
        for ax, jacobian in ((axes[0], True), (axes[1], False)):
            spec = freefim.jacobian_spectrum(net) if jacobian else freefim.spectrum(net)
            support = spec.support()
            if support:
                x, _, dens = spec.midpoint_grid(points)
                ax.plot(x.ravel(), dens.ravel() / (1 - spec.atom_mass), color=color, lw=1.3, label=f"L = {net.depth}")
            for atom in spec.atoms:
                ax.axvline(atom.location, color=color, ls=":", lw=1)
            if width:
                smp = sample(net, width, trials, rng, progress=False, jacobian=jacobian)
                ev = np.concatenate([smp.eigenvalues[k][~smp.split_atoms(k)] for k in range(smp.trials)])
                if ev.size:
                    ax.hist(ev, bins=bins, density=True, color=color, alpha=0.25)
            m1, m2 = float(spec.moments.m1), float(spec.moments.m2)
            if jacobian:
                row.update(jacobian_mean=m1, jacobian_sd=max(m2 - m1 * m1, 0.0) ** 0.5)
            else:
                peak = spec.peak() if support else None
                row.update(fim_peak=float(peak.location) if peak else m1,
                           fim_edge=max([float(a.location) for a in spec.atoms] + [float(b) for _, b in support]))
        rows.append(row)
    depths = [r["depth"] for r in rows]
    axes[2].errorbar(depths, [r["jacobian_mean"] for r in rows], yerr=[r["jacobian_sd"] for r in rows], fmt="o-",
                     color="C0", capsize=3, label="Jacobian $JJ^T$: mean $\\pm$ sd (left axis)")
    twin = axes[2].twinx()  # the two matrices live on different scales (the FIM's ~ L qh*)
    twin.plot(depths, [r["fim_peak"] for r in rows], "s-", color="C3", label="FIM: peak of the density (right axis)")
    twin.plot(depths, [r["fim_edge"] for r in rows], "^--", color="C1", label="FIM: largest edge (right axis)")
    twin.set_ylim(bottom=0)
    twin.legend(fontsize=8, loc="lower right")
    axes[0].set_title("input-output Jacobian $JJ^T$")
    axes[1].set_title("conditional FIM ($JJ^T/M$ over the weights)")
    for ax in axes[:2]:
        ax.set_xlabel("eigenvalue")
        ax.set_ylabel("density (continuous part, normalised)")
        ax.legend(fontsize=8)
        top = max([line.get_ydata().max() for line in ax.get_lines() if len(line.get_ydata()) > 2] + [1.0])
        ax.set_ylim(0, min(top, 8.0) * 1.1)
    axes[2].set_xlabel("depth L")
    axes[2].set_ylim(bottom=0)
    axes[2].legend(fontsize=8, loc="upper left")
    net = networks[0]
    fig.suptitle(f"{net.activation.name}/{net.weights}, $\\sigma_w^2$={net.sigma_w2:.4g}, $\\sigma_b^2$={net.sigma_b2:.4g}"
                 + (f"; histograms: M = {width}" if width else ""))
    fig.tight_layout()
    return fig, rows


def plot_fim_outliers(net, width, classes=1, samples=10, losses=("regression", "softmax"), trials=4, seed=0,
                      bins=60, alphas=None):
    r"""The sampled spectra of the FIM of ``T`` samples, one panel per output law, with the outliers of
    :func:`freefim.statistics.fim_statistics` marked (Karakida, Akaho & Amari, *Pathological spectra*, 2021).

    Each panel is a histogram of the nonzero eigenvalues of the ``CT x CT`` dual FIM of ``trials`` sampled
    networks on a log axis: the regression spectrum is ``C`` outliers at :math:`\lambda_{max}` plus a bulk at
    :math:`\alpha(\kappa_1-\kappa_2)M/T`; the softmax outliers are dispersed (their mean and spread over the
    random logits are shown) and a tail leaves the bulk.  ``alphas``: width ratios as in
    :func:`~freefim.statistics.fim_statistics`.  Returns the figure.
    """
    import matplotlib.pyplot as plt

    from .montecarlo import _rng
    from .statistics import dual_fim, fim_statistics

    rng = _rng(seed)
    fig, axes = plt.subplots(1, len(losses), figsize=(5.5 * len(losses), 3.6), squeeze=False)
    for ax, loss in zip(axes[0], losses):
        theory = fim_statistics(net, width, classes, samples, alphas=alphas, loss=loss)
        eig = np.concatenate([np.linalg.eigvalsh(dual_fim(net, width, classes, samples, rng, alphas, loss)[0])
                              for _ in range(trials)])
        eig = eig[eig > 1e-12 * eig.max()]
        edges = np.geomspace(eig.min(), eig.max() * 1.5, bins)
        ax.hist(eig, bins=edges, color="0.6", label=f"Monte Carlo ({trials} networks, M={width})")
        for i, value in enumerate(sorted(set(np.round(theory.outliers, 12)), reverse=True)):
            ax.axvline(value, color="C3", lw=1.2, label="theory: outliers" if i == 0 else None)
        if loss == "softmax":
            ax.axvspan(theory.lambda_max - theory.lambda_max_sd, theory.lambda_max + theory.lambda_max_sd,
                       color="C3", alpha=0.15, label=r"$\lambda_{max}$ $\pm$ sd over logits")
        elif samples > 1:
            op = theory.order
            ax.axvline(op.alpha * (op.kappa1 - op.kappa2) * width / samples, color="C0", ls="--",
                       label=r"theory: bulk $\alpha(\kappa_1-\kappa_2)M/T$")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("eigenvalue")
        ax.set_title(f"{loss}, C={classes}, T={samples}")
        ax.legend(fontsize=7)
    fig.suptitle(f"{net.activation.name}/{net.weights} ({net.sigma_w2:g}, {net.sigma_b2:g}), L={net.depth}")
    fig.tight_layout()
    return fig


def plot_natgrad(result, path=None, ax=None):
    r"""Held-out loss vs steps of SGD and the unit-wise natural gradient (log scale), with the SGD loss at
    the reference step and the step where the natural gradient first reaches it marked.

    ``result`` is a :class:`freefim.natgrad.NatGradRun`; ``path``: also save the figure there.
    Returns the figure.
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 3.8))
    steps = np.arange(result.steps + 1)
    ax.plot(steps, result.sgd_loss, color="C0", label=f"SGD (lr {result.lr_sgd:g})")
    ax.plot(steps, result.ng_loss, color="C3",
            label=f"unit-wise natural gradient (lr {result.lr_ng:g}, damping {result.damping:g})")
    ax.axhline(result.sgd_reference_loss, color="gray", ls=":", lw=1)
    ax.plot([result.reference_step], [result.sgd_reference_loss], "o", color="C0", ms=5)
    if result.ng_steps_to_reference is not None:
        ax.plot([result.ng_steps_to_reference], [result.sgd_reference_loss], "o", color="C3", ms=5,
                label=f"reaches SGD's step-{result.reference_step} loss at step {result.ng_steps_to_reference}")
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel(r"held-out loss $|y - f|^2/(2M)$")
    net = result.network
    ax.set_title(f"teacher-student, {net['activation']}/{net['weights']}, L={net['depth']}, M={result.width}, "
                 f"batch {result.batch}", fontsize=9)
    ax.legend(fontsize=7)
    if path is not None:
        ax.figure.savefig(path, dpi=120, bbox_inches="tight")
    return ax.figure
