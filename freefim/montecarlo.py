r"""Monte Carlo layer: finite random networks and the exact spectrum of their dual FIM.

For one input the nonzero spectrum of the conditional FIM :math:`F = J^T J`
(``P x P``) equals that of the ``M x M`` dual matrix :math:`H_L = J J^T / M`,
which obeys the exact finite-width recursion (Hayase & Karakida 2021)

.. math::

    H_1 = \hat q_0 I, \qquad
    H_{l+1} = \hat q_l I + W_{l+1} D_l H_l D_l W_{l+1}^T, \qquad D_l = \operatorname{diag}\phi'(u_l),

with :math:`\hat q_l = |h_l|^2/M` of that network.  Cost :math:`O(L M^3)`; the
``P x P`` matrix is never built.  With ``jacobian=True`` the same functions sample the input-output
Jacobian :math:`J = \partial f/\partial x = W_L D_{L-1} W_{L-1} \cdots D_1 W_1` instead:
:math:`A_1 = W_1 W_1^T`, :math:`A_{l+1} = W_{l+1} D_l A_l D_l W_{l+1}^T`, :math:`JJ^T = A_L`
(Pennington, Schoenholz & Ganguli 2017).
"""
from __future__ import annotations

import math
import numbers

from dataclasses import dataclass

import numpy as np

__all__ = ["draw_weight", "draw_input", "forward_pass", "dual_matrix", "sample", "Sample", "compare",
           "depth_sweep", "conditional_chain", "sample_peak", "theory_peak", "layer_widths"]


def _rng(seed):
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def draw_weight(weights, sigma_w2, rows, cols, rng):
    r"""One weight matrix: :math:`\sigma_w \sqrt{\max(1, \text{rows}/\text{cols})}\,O` with ``O`` Haar
    orthogonal (orthonormal rows or columns), or i.i.d. :math:`N(0, \sigma_w^2/\text{cols})`: either way
    :math:`E|Wh|^2 / \text{rows} = \sigma_w^2 |h|^2 / \text{cols}`."""
    if weights == "orthogonal":
        n = max(rows, cols)
        a = rng.standard_normal((n, n))
        q, r = np.linalg.qr(a)
        q *= np.sign(np.diag(r))  # Haar measure (Mezzadri 2007)
        return np.sqrt(sigma_w2 * max(1, rows / cols)) * q[:rows, :cols]
    return rng.standard_normal((rows, cols)) * np.sqrt(sigma_w2 / cols)


def draw_input(width, q0, rng):
    """An input with :math:`|x|^2/M = q_0` exactly (uniform direction)."""
    x = rng.standard_normal(width)
    return x * np.sqrt(q0 * width) / np.linalg.norm(x)


def layer_widths(net, width):
    """The sampled widths ``n_0..n_L``: ``width`` for every layer, or with ``net.widths`` the narrowest layer
    ``width`` wide and the others in proportion (rounded)."""
    if net.widths is None:
        return (width,) * (net.depth + 1)
    low = min(net.widths)
    return tuple(max(1, round(width * w / low)) for w in net.widths)


def forward_pass(net, width, rng):
    """Draw one network of base ``width`` (see :func:`layer_widths`) and push one input through it.

    Returns ``(weights, biases, u, h)``: lists indexed by layer ``l = 1..L`` for
    ``weights``/``biases``/``u`` (index 0 unused, ``None``) and ``h[l]`` for ``l = 0..L-1``.
    """
    rng = _rng(rng)
    L, act = net.depth, net.activation
    n = layer_widths(net, width)
    weights, biases, u, h = [None], [None], [None], [draw_input(n[0], net.q0, rng)]
    for l in range(1, L + 1):
        weights.append(draw_weight(net.weights, net.sigma_w2, n[l], n[l - 1], rng))
        biases.append(rng.standard_normal(n[l]) * np.sqrt(net.sigma_b2))
        u.append(weights[l] @ h[l - 1] + biases[l])
        if l < L:
            h.append(act.phi(u[l]))
    return weights, biases, u, h


def dual_matrix(net, width, rng=None, bias=False):
    r"""The dual matrix :math:`H_L = JJ^T/M` of one sampled network and its ``qh_l``.

    Returns ``(H, qh)`` with ``qh[l] = |h_l|^2/M`` for ``l = 0..L-1``.
    """
    H, qh, _, _ = _dual_matrix(net, width, _rng(rng), bias)
    return H, list(qh)


# ---------------------------------------------------------------------- sampling
@dataclass(frozen=True)
class Sample:
    r"""Exact dual-FIM spectra of ``trials`` sampled networks of one description.

    ``eigenvalues[k]``: the ``M`` eigenvalues of :math:`H_L = JJ^T/M` of network ``k``
    (ascending); ``qh[k, l] = |h_l|^2/M`` (``l = 0..L-1``), ``q[k, l-1] = |u_l|^2/M`` and
    ``p[k, l-1]`` the mean of :math:`\phi'(u_l)^2` over the units of layer ``l``
    (``l = 1..L-1``; for a piecewise-linear activation the fraction of active units): each
    network's own order parameters, so its atoms can be matched one by one (its atom of
    :math:`\mu_L` sits at its own ``qh[k, L-1]``).
    """

    network: object
    width: int
    seed: object
    bias: bool
    eigenvalues: np.ndarray
    qh: np.ndarray
    p: np.ndarray
    q: np.ndarray = None
    #: the spectra are those of the input-output Jacobian's ``J J^T`` (not the dual FIM)
    jacobian: bool = False

    @property
    def trials(self):
        return self.eigenvalues.shape[0]

    def chain(self, k):
        """The free recursion conditioned on network ``k``'s own order parameters: its ``qh_l``
        and, per layer, its ``p_l`` (piecewise-linear) or its ``q_l`` (smooth activations), at its widths."""
        q = None if self.q is None else self.q[k]
        n = layer_widths(self.network, self.width)
        widths = None if self.network.widths is None else n
        extra = 1 / np.array(n[:-1], dtype=float) if self.bias else 0  # a bias adds 1 to |h_l|^2
        return conditional_chain(self.network, self.qh[k] + extra, self.p[k], q, self.jacobian, widths)

    def split_atoms(self, k, rtol=1e-9):
        """Mask of network ``k``'s eigenvalues sitting on one of its predicted atoms (to ``rtol`` of the
        largest eigenvalue: the accuracy of ``eigvalsh``)."""
        on = np.zeros(self.eigenvalues[k].shape, dtype=bool)
        for location, _ in self.chain(k).atoms():
            on |= self.on_atom(k, location, rtol)
        return on

    def on_atom(self, k, location, rtol=1e-9):
        """Mask of network ``k``'s eigenvalues equal to ``location`` up to ``rtol`` of its largest one."""
        ev = self.eigenvalues[k]
        return np.abs(ev - location) <= rtol * max(float(np.max(np.abs(ev))), 1e-300)

    def summary(self):
        """Mean and spread over trials of ``m1 = tr H/M``, ``m2 = tr H^2/M`` and ``lambda_max``."""
        ev = self.eigenvalues
        stats = {"m1": ev.mean(axis=1), "m2": (ev ** 2).mean(axis=1), "lambda_max": ev.max(axis=1)}
        return {k: {"mean": float(v.mean()), "std": float(v.std(ddof=1)) if len(v) > 1 else 0.0}
                for k, v in stats.items()}


def conditional_chain(net, qh, p=None, q=None, jacobian=False, widths=None):
    r"""A :class:`~freefim.numeric.Chain` with given ``qh_0..qh_{L-1}`` (a network's own order
    parameters) and, for ``l = 1..L-1``, the derivative law :math:`\rho_l` of that network.

    Piecewise-linear activations: :math:`\sigma_w^2\,\mathrm{Bernoulli}(p_l)` with ``p[l-1]``
    the network's own fraction of active units.  Smooth activations: the continuous law
    :func:`~freefim.meanfield.rho_law` at the network's own pre-activation variance
    ``q[l-1]`` (e.g. :math:`|u_l|^2/M`); without ``q``,
    :math:`q_l = \sigma_w^2 \hat q_{l-1} + \sigma_b^2` from the given ``qh``.
    (Times MP(1) for Gaussian weights in both cases.)  With ``jacobian``: the chain of
    :math:`JJ^T` with these layer laws; ``widths``: the network's ``n_0..n_L``
    (:meth:`Chain.from_layers <freefim.numeric.Chain.from_layers>`).
    """
    from .meanfield import bernoulli_rho, rho_law
    from .numeric import Chain

    act = net.activation

    def rho(l):
        if act.piecewise_linear:
            if p is None:
                raise ValueError("a piecewise-linear activation needs each layer's fraction p of active units")
            return bernoulli_rho(float(p[l - 1]), net.sigma_w2, net.weights)
        ql = float(q[l - 1]) if q is not None else net.sigma_w2 * float(qh[l - 1]) + net.sigma_b2
        return rho_law(act, ql, net.sigma_w2, net.weights)

    return Chain.from_layers([float(v) for v in qh[:net.depth]], [None] + [rho(l) for l in range(1, net.depth)],
                             float(net.sigma_w2), net.weights, widths, jacobian)


def _check_sampling(net, width, trials):
    import numbers

    for name, value, low in (("width", width, 1), ("trials", trials, 1)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")


def blas_threads(width, threads=None):
    """Context limiting BLAS threads (threadpoolctl) for products of ``width x width`` matrices.

    ``threads=None`` picks one thread below width 1,500 (where thread start-up and contention on
    a loaded machine cost more than they bring: measured 27x slower on a busy 2-core machine) and
    leaves BLAS alone above; an integer sets the count."""
    from threadpoolctl import threadpool_limits

    if threads is None:
        threads = 1 if width < 1500 else None
    elif isinstance(threads, bool) or not isinstance(threads, numbers.Integral) or threads < 1:
        raise ValueError(f"threads must be an integer >= 1, got {threads!r}")
    return threadpool_limits(limits=threads, user_api="blas")


def sample(net, width, trials=1, seed=None, bias=False, progress=None, threads=None, jacobian=False):
    r"""Sample ``trials`` networks of ``width`` and return their exact dual-FIM spectra (with
    ``jacobian``: the spectra of :math:`JJ^T`, :math:`J = \partial f / \partial x`).

    Uses the ``M x M`` recursion :math:`H_{l+1} = \hat q_l I + W_{l+1} D_l H_l D_l W_{l+1}^T`
    (cost :math:`O(L M^3)` per network).  With ``bias=True`` the bias gradients are
    included: they add :math:`I/M` to every :math:`\hat q_l` term.  ``seed``: an int or a
    ``numpy.random.Generator``; ``progress``: show a bar (default: if stderr is a terminal).
    """
    from .progress import Progress

    _check_sampling(net, width, trials)
    if jacobian and bias:
        raise ValueError("bias=True adds the bias gradients to the FIM; the input-output Jacobian has none")
    rng = _rng(seed)
    L = net.depth
    eigenvalues = np.empty((trials, layer_widths(net, width)[-1]))
    qhs = np.empty((trials, L))
    ps = np.empty((trials, L - 1))
    qs = np.empty((trials, L - 1))
    with blas_threads(width, threads), \
            Progress(trials, f"sampling {trials} x M={width}, L={L}", enabled=progress) as bar:
        for k in range(trials):
            H, qh, p, q = _dual_matrix(net, width, rng, bias, jacobian)
            eigenvalues[k] = np.linalg.eigvalsh(H)
            qhs[k], ps[k], qs[k] = qh, p, q
            bar.update()
    return Sample(net, width, seed if not isinstance(seed, np.random.Generator) else None, bool(bias),
                  eigenvalues, qhs, ps, qs, bool(jacobian))


def _dual_matrix(net, width, rng, bias=False, jacobian=False):
    """``H_L`` (or with ``jacobian`` ``J J^T``) of one sampled network, its ``qh_l``, ``p_l``, ``q_l``."""
    weights, _, u, h = forward_pass(net, width, rng)
    n = layer_widths(net, width)
    qh = np.array([float(v @ v) / len(v) for v in h])
    extra = 1 if bias else 0.0
    if jacobian:  # A_1 = W_1 W_1^T, then the same products without the identity terms
        H = weights[1] @ weights[1].T
        qh_terms = np.zeros(net.depth)
    else:  # H = A_L / n_L: the identity terms are (|h_l|^2 + bias) / n_L
        qh_terms = qh * (np.array(n[:-1]) / n[-1]) if net.widths is not None else qh  # |h_l|^2 / n_L
        qh_terms = qh_terms + extra / n[-1]
        H = qh_terms[0] * np.eye(n[1])
    p, q = [], []
    for l in range(1, net.depth):
        d = net.activation.dphi(u[l])
        p.append(float(np.mean(d * d)))
        q.append(float(u[l] @ u[l]) / len(u[l]))
        B = weights[l + 1] * d  # W_{l+1} D_l
        H = B @ H @ B.T
        H[np.diag_indices_from(H)] += qh_terms[l]
    return H, qh, np.array(p), np.array(q)


# ---------------------------------------------------------------------- comparison with the theory
@dataclass(frozen=True)
class Comparison:
    """Monte Carlo vs free-probability limit for one network (see :func:`compare`)."""

    sample: Sample
    spectrum: object
    ks: float
    ks_per_network: float
    l1: float
    atoms: list
    moments: dict
    bins: np.ndarray
    histogram: np.ndarray
    #: each network's own law and its number of continuous eigenvalues (empty if not solved)
    own: tuple = ()

    def as_dict(self):
        net = self.sample.network
        return {"network": net.as_dict(), "width": self.sample.width, "trials": self.sample.trials,
                "seed": self.sample.seed, "bias": self.sample.bias, "ks": self.ks,
                "ks_per_network": self.ks_per_network, "l1": self.l1,
                "atoms": self.atoms, "moments": self.moments}


def _matched_atoms(limit_atoms, own_atoms):
    """For each atom of the limit law, the matching atom ``(location, mass)`` of a network's own law.

    Both come from the same Belinschi rule over the same layers, so with as many atoms they pair by
    rank (a network's atom may sit far from the limit location: its ``qh_l`` fluctuate); otherwise
    each limit atom takes the nearest own atom, or ``(nan, 0)`` if the network has none.
    """
    own = sorted(own_atoms)
    if len(own) == len(limit_atoms):
        return [(float(loc), float(m)) for loc, m in own]
    out = []
    for atom in limit_atoms:
        if not own:
            out.append((float("nan"), 0.0))
            continue
        loc, m = min(own, key=lambda a: abs(a[0] - atom.location))
        out.append((float(loc), float(m)))
    return out


def _continuous_eigenvalues(smp):
    return np.concatenate([smp.eigenvalues[k][~smp.split_atoms(k)] for k in range(smp.trials)])


def _continuous_cdf(spec, x, grid=None):
    r"""Normalised CDF of the continuous part of ``spec`` at ``x``.

    ``grid=None``: :meth:`Spectrum.cdf <freefim.numeric.Spectrum.cdf>` (adaptive quadrature to
    1e-12).  ``grid=N``: the density on :meth:`Spectrum.midpoint_grid
    <freefim.numeric.Spectrum.midpoint_grid>` (``N`` midpoints in :math:`\theta` per support
    interval, :math:`x = \frac{a+b}{2} - \frac{b-a}{2}\cos\theta`), summed by the midpoint rule
    and interpolated in :math:`\theta`: error :math:`O(N^{-2})`, ample for a KS distance, and
    much cheaper for laws whose every solve is costly (smooth activations).
    """
    if grid is None:
        return spec.cdf(x, continuous=True)
    x = np.asarray(x, dtype=float)
    support = spec.support()
    if not support:
        raise ValueError("the law has no continuous part")
    mid = (np.arange(grid) + 0.5) * np.pi / grid
    _, weight, dens = spec.midpoint_grid(grid)
    bad = ~np.isfinite(dens)  # the solver may fail a hair away from an edge: fill in from the neighbours
    if bad.mean() > 0.05:
        raise ValueError(f"the density solve failed at {bad.sum()} of {bad.size} grid points")
    for row, miss in zip(dens, bad):
        if miss.any():
            row[miss] = np.interp(mid[miss], mid[~miss], row[~miss])
    mass = dens * weight
    knots = np.linspace(0, np.pi, grid + 1)
    power = None
    if support[0][0] == 0 and dens[0, 1] > 0 and dens[0, 0] > dens[0, 1]:
        # a law of free products alone (the Jacobian's) has a density diverging like x^(a - 1) at 0, whose
        # first cell holds a mass the midpoint rule and the interpolation in theta miss (tanh/gaussian
        # depth 3: 4% of the mass, KS 0.063 instead of 0.007): there the cdf is A x^a, a from the first two nodes
        xg = support[0][1] * np.sin(mid[:2] / 2) ** 2
        a = min(1.0, max(1e-3, 1 + math.log(dens[0, 1] / dens[0, 0]) / math.log(xg[1] / xg[0])))
        power = (dens[0, 0] / (a * xg[0] ** (a - 1)), a, support[0][1] * math.sin(knots[1] / 2) ** 2)
        mass[0, 0] = power[0] * power[2] ** a
    cum = np.concatenate([np.zeros((len(support), 1)), np.cumsum(mass, axis=1)], axis=1)
    before = np.concatenate([[0.0], np.cumsum(cum[:, -1])])  # mass left of each interval
    out = np.zeros(x.shape)
    for i, (lo, hi) in enumerate(support):
        theta = np.arccos(np.clip(((lo + hi) / 2 - x) / ((hi - lo) / 2), -1, 1))
        inside = np.interp(theta, knots, cum[i])
        if i == 0 and power is not None:
            inside = np.where(x < power[2], power[0] * np.maximum(x, 0) ** power[1], inside)
        out = np.where(x >= hi, before[i + 1], np.where(x > lo, before[i] + inside, out))
    return out / before[-1]


def compare(net, width=1000, trials=2, seed=None, bins=60, bias=False, progress=None, per_network=True,
            threads=None, jacobian=False):
    r"""Sample ``trials`` networks and compare their spectra with the limit law :math:`\mu_L`.

    Reports, for the continuous part (each network's atoms split off at its own
    locations): the Kolmogorov–Smirnov distance between the pooled empirical CDF and
    the theory's normalised continuous CDF, and the :math:`L^1` distance between the
    histogram and the density (:math:`\sum_i |n_i/N - \Delta F_i|`, the total variation
    of the binned laws, between 0 and 2); ``ks_per_network``: the KS distance to the
    mixture of each network's own law (its sampled ``qh_l``, ``p_l``), which removes the
    O(M^-1/2) fluctuation of the order parameters; the atom masses found vs predicted (by
    the limit law and by each network's own order parameters); and ``m1 = tr H/M``,
    ``m2 = tr H^2/M`` sampled vs exact (limit law and per-network recursion).

    For smooth activations each network's own law has the continuous
    :func:`~freefim.meanfield.rho_law` at its own ``q_l = |u_l|^2/M``, and the continuous CDFs
    come from one density solve on a grid (:func:`_continuous_cdf`) instead of the adaptive
    quadrature.  ``per_network=False`` skips solving each network's own law
    (``ks_per_network`` is then ``nan``; the per-network atoms and moments are exact and cheap).
    ``jacobian``: the same for the input-output Jacobian's :math:`JJ^T` and its law
    (:func:`freefim.jacobian_spectrum`).
    """
    from .numeric import Spectrum

    smp = sample(net, width, trials, seed, bias, progress, threads, jacobian)
    spec = Spectrum(net, jacobian=jacobian)
    exact = spec.moments
    grid = None if net.activation.piecewise_linear else _CDF_GRID
    cont = np.sort(_continuous_eigenvalues(smp))
    if spec.support() and cont.size < 2:
        raise ValueError(f"at width {width} the sampled spectra have {cont.size} eigenvalue(s) off their atoms: "
                         "no continuous part to compare; use a larger width")
    ks = l1 = ks_own = float("nan")
    edges = np.empty(0)
    hist = np.empty(0)
    own_laws = ()
    if cont.size and spec.support():
        n = cont.size
        lo, hi = spec.support()[0][0], spec.support()[-1][1]
        edges = np.linspace(min(lo, cont[0]), max(hi, cont[-1]), bins + 1)
        theory = _continuous_cdf(spec, np.concatenate([cont, edges]), grid)
        ks = _ks(theory[:n])
        if per_network:
            # the same against each network's own law (its qh_l and p_l or q_l), pooled as a mixture
            own = [Spectrum.from_chain(smp.chain(k)) for k in range(smp.trials)]
            weights = np.array([(~smp.split_atoms(k)).sum() for k in range(smp.trials)], dtype=float)
            mixture = sum(w * _continuous_cdf(o, cont, grid) for w, o in zip(weights, own)) / weights.sum()
            ks_own = _ks(mixture)
            own_laws = tuple(zip(own, weights))
        counts, _ = np.histogram(cont, edges)
        hist = counts / (n * np.diff(edges))
        l1 = float(np.sum(np.abs(counts / n - np.diff(theory[n:]))))
    atoms = []
    own_atoms = [_matched_atoms(spec.atoms, smp.chain(k).atoms()) for k in range(smp.trials)]
    for i, atom in enumerate(spec.atoms):
        found, own, where = [], [], []
        for k in range(smp.trials):
            loc, mass = own_atoms[k][i]
            found.append(float(np.mean(smp.on_atom(k, loc))) if mass > 0 else 0.0)
            own.append(mass)
            where.append(loc)
        atoms.append({"location": atom.location, "predicted": atom.mass, "found": float(np.mean(found)),
                      "predicted_per_network": float(np.mean(own)), "location_per_network": float(np.mean(where))})
    ev = smp.eigenvalues
    cond = np.array([smp.chain(k).moments() for k in range(smp.trials)], dtype=float)
    moments = {"m1": {"sampled": float(ev.mean()), "exact": float(exact.m1), "per_network": float(cond[:, 0].mean())},
               "m2": {"sampled": float((ev ** 2).mean()), "exact": float(exact.m2),
                      "per_network": float(cond[:, 1].mean())}}
    return Comparison(smp, spec, ks, ks_own, l1, atoms, moments, edges, hist, own_laws)


#: density points per support interval for the continuous CDF of smooth-activation laws
_CDF_GRID = 800


def _ks(theory_at_sorted_samples):
    """Kolmogorov–Smirnov distance of sorted samples whose theoretical CDF values are given."""
    f = theory_at_sorted_samples
    n = f.size
    return float(max(np.max(np.arange(1, n + 1) / n - f), np.max(f - np.arange(n) / n)))


# ---------------------------------------------------------------------- depth sweep
def _fit(depths, values):
    """Least-squares line ``value = slope * depth + intercept`` and its R^2."""
    depths, values = np.asarray(depths, float), np.asarray(values, float)
    slope, intercept = np.polyfit(depths, values, 1)
    resid = values - (slope * depths + intercept)
    total = np.sum((values - values.mean()) ** 2)
    return {"slope": float(slope), "intercept": float(intercept),
            "r2": float(1 - np.sum(resid ** 2) / total) if total > 0 else 1.0}


def sample_peak(eigenvalues, bins=50):
    """Where a sampled spectrum concentrates: centre of the fullest of ``bins`` equal bins
    between its smallest and largest eigenvalue (atoms included)."""
    eigenvalues = np.asarray(eigenvalues, dtype=float)
    if np.ptp(eigenvalues) <= 1e-9 * np.abs(eigenvalues).max():  # a single atom
        return float(eigenvalues.mean())
    counts, edges = np.histogram(eigenvalues, bins)
    k = int(np.argmax(counts))
    return 0.5 * (edges[k] + edges[k + 1])


def theory_peak(spec, bins=50):
    """The same estimator as :func:`sample_peak` applied to the limit law: centre of the bin
    of largest mass (continuous part and atoms) among ``bins`` equal bins spanning the law.

    Unlike :meth:`Spectrum.peak` (the maximum of the continuous density, possibly an
    integrable divergence at an edge) this is where the mass concentrates, which is what a
    histogram of a finite network shows; near dynamical isometry that is a heavy atom.
    """
    points = [a.location for a in spec.atoms] + [e for iv in spec.support() for e in iv]
    lo, hi = min(points), max(points)
    if hi <= lo:
        return lo
    edges = np.linspace(lo, hi, bins + 1)
    cdf = spec.cdf(edges)
    cdf[0] = 0.0  # the first bin is closed on the left
    k = int(np.argmax(np.diff(cdf)))
    return 0.5 * (edges[k] + edges[k + 1])


def depth_sweep(net, depths, width=500, trials=2, seed=None, progress=None, threads=None):
    r"""Peak location and largest edge of the FIM spectrum vs depth: theory and Monte Carlo.

    For each depth: where the law concentrates (:func:`theory_peak`) and its largest point
    (upper support edge or largest atom), and per sampled network the same histogram
    estimator (:func:`sample_peak`) and the largest eigenvalue (mean and spread over trials).  Straight-line fits
    of peak vs depth (slope, intercept, :math:`R^2`) for theory and samples show the
    linear growth with depth (Hayase & Karakida, AISTATS 2021).
    """
    from .numeric import Spectrum
    from .progress import Progress

    depths = [int(d) for d in depths]
    if len(depths) < 2 or min(depths) < 2:
        raise ValueError(f"depth sweep needs at least two depths >= 2, got {depths}")
    rng = _rng(seed)
    rows = []
    with Progress(len(depths), "depth sweep", enabled=progress) as bar:
        for depth in depths:
            netd = net.replace(depth=depth)
            spec = Spectrum(netd)
            smp = sample(netd, width, trials, rng, progress=False, threads=threads)
            peak = theory_peak(spec)
            edge = max([a.location for a in spec.atoms] + [iv[1] for iv in spec.support()])
            peaks = [sample_peak(smp.eigenvalues[k]) for k in range(smp.trials)]
            edges = smp.eigenvalues.max(axis=1)
            rows.append({"depth": depth, "theory_peak": peak, "theory_edge": edge,
                         "sample_peak": float(np.mean(peaks)), "sample_peak_std": float(np.std(peaks)),
                         "sample_edge": float(np.mean(edges)), "sample_edge_std": float(np.std(edges))})
            bar.update()
    column = lambda key: [r[key] for r in rows]  # noqa: E731
    fits = {"theory_peak": _fit(depths, column("theory_peak")), "sample_peak": _fit(depths, column("sample_peak")),
            "theory_edge": _fit(depths, column("theory_edge")), "sample_edge": _fit(depths, column("sample_edge"))}
    network = {k: v for k, v in net.as_dict().items() if k != "depth"}  # the depths are the rows'
    return {"network": network, "width": width, "trials": trials, "seed": seed if isinstance(seed, int) else None,
            "rows": rows, "fits": fits}
