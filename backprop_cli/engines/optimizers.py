"""Update rules for gradient descent: small objects with documented defaults and state.

Shared API (descend uses it; mini-batch training reuses it — keep it stable)::

    opt = make("adam", eta=0.01)          # or Adam(eta=0.01, beta1=0.9, ...)
    steps = opt.step(point, grad)         # newton: opt.step(point, grad, hessian)
    point = [p + s for p, s in zip(point, steps)]

* ``point`` and ``grad`` are sequences with one entry per parameter (variable); each entry
  is a float or a numpy array (any shape; the rules are elementwise, so a sweep over many
  runs or a weight matrix goes through unchanged). ``eta`` and the hyperparameters may be
  floats or arrays that broadcast against the entries (one η per run in a sweep).
* ``step`` returns the **change** Δ to *add* to each entry: ``x ← x + Δ``. For plain
  descent Δ = −η·g, the lesson's ``x ← x − η·y'``.
* State (velocities, running averages, step count) lives on the object, created on the
  first call with the shape of the gradient; ``reset()`` forgets it.
* No numpy import here: only arithmetic and ``** 0.5``, which work on floats and arrays.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

Values = Sequence[Any]


class CurvatureError(ArithmeticError):
    """Newton's method met curvature it cannot use (f'' ≤ 0, or a Hessian that is not
    positive definite): the Newton step would not go downhill."""


class Optimizer:
    """Base class: ``name``, ``eta``, ``hyper`` (hyperparameters) and ``step``."""

    name = "optimizer"
    needs_hessian = False
    default_eta = 0.1

    def __init__(self, eta: Any = None) -> None:
        self.eta = self.default_eta if eta is None else eta
        self.reset()

    def reset(self) -> None:
        """Forget the state (velocities, averages, step count)."""

    @property
    def hyper(self) -> dict[str, Any]:
        """The hyperparameters other than η (for JSON and tables)."""
        return {}

    def step(self, point: Values, grad: Values, hessian: Any = None) -> list:
        raise NotImplementedError

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in {"eta": self.eta, **self.hyper}.items())
        return f"{type(self).__name__}({args})"


class SGD(Optimizer):
    """Plain gradient descent: Δ = −η·g. No state. Default η = 0.1."""

    name = "sgd"

    def step(self, point, grad, hessian=None):
        eta = self.eta
        return [-(eta * g) for g in grad]


class Momentum(Optimizer):
    """Heavy ball (Polyak): v ← β·v − η·g;  Δ = v.  Defaults η = 0.1, β = 0.9; v₀ = 0."""

    name = "momentum"

    def __init__(self, eta=None, beta: Any = 0.9) -> None:
        self.beta = beta
        super().__init__(eta)

    def reset(self) -> None:
        self.velocity: list | None = None

    @property
    def hyper(self):
        return {"beta": self.beta}

    def step(self, point, grad, hessian=None):
        eta, beta = self.eta, self.beta
        if self.velocity is None:
            self.velocity = [0.0 * g for g in grad]
        self.velocity = [beta * v - eta * g for v, g in zip(self.velocity, grad)]
        return list(self.velocity)


class Nesterov(Momentum):
    """Nesterov momentum, in the look-ahead-free form (Sutskever et al. 2013, as in PyTorch):
    v ← β·v − η·g;  Δ = β·v − η·g (with the new v).  Defaults η = 0.1, β = 0.9; v₀ = 0."""

    name = "nesterov"

    def step(self, point, grad, hessian=None):
        eta, beta = self.eta, self.beta
        if self.velocity is None:
            self.velocity = [0.0 * g for g in grad]
        self.velocity = [beta * v - eta * g for v, g in zip(self.velocity, grad)]
        return [beta * v - eta * g for v, g in zip(self.velocity, grad)]


class Adagrad(Optimizer):
    """AdaGrad: G ← G + g²;  Δ = −η·g / (√G + ε).  Defaults η = 0.1, ε = 1e-8; G₀ = 0."""

    name = "adagrad"

    def __init__(self, eta=None, epsilon: Any = 1e-8) -> None:
        self.epsilon = epsilon
        super().__init__(eta)

    def reset(self) -> None:
        self.sum_sq: list | None = None

    @property
    def hyper(self):
        return {"epsilon": self.epsilon}

    def step(self, point, grad, hessian=None):
        eta, eps = self.eta, self.epsilon
        if self.sum_sq is None:
            self.sum_sq = [0.0 * g for g in grad]
        self.sum_sq = [s + g * g for s, g in zip(self.sum_sq, grad)]
        return [-(eta * g) / (s**0.5 + eps) for s, g in zip(self.sum_sq, grad)]


class RMSProp(Optimizer):
    """RMSProp: E ← ρ·E + (1 − ρ)·g²;  Δ = −η·g / (√E + ε).
    Defaults η = 0.01, ρ = 0.9, ε = 1e-8; E₀ = 0."""

    name = "rmsprop"
    default_eta = 0.01

    def __init__(self, eta=None, rho: Any = 0.9, epsilon: Any = 1e-8) -> None:
        self.rho, self.epsilon = rho, epsilon
        super().__init__(eta)

    def reset(self) -> None:
        self.mean_sq: list | None = None

    @property
    def hyper(self):
        return {"rho": self.rho, "epsilon": self.epsilon}

    def step(self, point, grad, hessian=None):
        eta, rho, eps = self.eta, self.rho, self.epsilon
        if self.mean_sq is None:
            self.mean_sq = [0.0 * g for g in grad]
        self.mean_sq = [rho * e + (1.0 - rho) * (g * g) for e, g in zip(self.mean_sq, grad)]
        return [-(eta * g) / (e**0.5 + eps) for e, g in zip(self.mean_sq, grad)]


class Adam(Optimizer):
    """Adam (Kingma & Ba 2015), bias-corrected:
    t ← t + 1;  m ← β₁·m + (1 − β₁)·g;  v ← β₂·v + (1 − β₂)·g²;
    m̂ = m / (1 − β₁ᵗ);  v̂ = v / (1 − β₂ᵗ);  Δ = −η·m̂ / (√v̂ + ε).
    Defaults η = 0.01, β₁ = 0.9, β₂ = 0.999, ε = 1e-8; m₀ = v₀ = 0, t₀ = 0."""

    name = "adam"
    default_eta = 0.01

    def __init__(self, eta=None, beta1: Any = 0.9, beta2: Any = 0.999, epsilon: Any = 1e-8) -> None:
        self.beta1, self.beta2, self.epsilon = beta1, beta2, epsilon
        super().__init__(eta)

    def reset(self) -> None:
        self.t = 0
        self.m: list | None = None
        self.v: list | None = None

    @property
    def hyper(self):
        return {"beta1": self.beta1, "beta2": self.beta2, "epsilon": self.epsilon}

    def step(self, point, grad, hessian=None):
        eta, b1, b2, eps = self.eta, self.beta1, self.beta2, self.epsilon
        if self.m is None:
            self.m = [0.0 * g for g in grad]
            self.v = [0.0 * g for g in grad]
        self.t += 1
        self.m = [b1 * m + (1.0 - b1) * g for m, g in zip(self.m, grad)]
        self.v = [b2 * v + (1.0 - b2) * (g * g) for v, g in zip(self.v, grad)]  # type: ignore[arg-type]  # set with m
        c1 = 1.0 - b1**self.t
        c2 = 1.0 - b2**self.t
        return [-(eta * (m / c1)) / ((v / c2) ** 0.5 + eps) for m, v in zip(self.m, self.v)]


class Newton(Optimizer):
    """Newton's method: Δ = −η·f'/f'' in one variable, Δ = −η·H⁻¹g in several.

    Default η = 1 (the full Newton step: a parabola's minimum in one step). The Hessian
    comes from the caller (descend: ``Program.hessian``, exact nested dual numbers). Raises
    :class:`CurvatureError` when f'' ≤ 0 or H is not positive definite — then the Newton
    step heads for a maximum or saddle, or does not exist. One variable accepts arrays
    (elementwise f''); several variables need floats and an n×n nested list H.
    """

    name = "newton"
    needs_hessian = True
    default_eta = 1.0

    def step(self, point, grad, hessian=None):
        if hessian is None:
            raise ValueError("newton needs the Hessian: step(point, grad, hessian)")
        eta = self.eta
        if len(grad) == 1:
            h = hessian[0][0]
            if not _all_positive(h):
                raise CurvatureError(f"the curvature f'' = {_show(h)} is not positive")
            return [-(eta * grad[0]) / h]
        solved = cholesky_solve(hessian, list(grad))
        return [-(eta * d) for d in solved]


def _all_positive(h) -> bool:
    try:
        return bool(h > 0.0)
    except ValueError:  # numpy array: every element
        return bool((h > 0.0).all())


def _show(h) -> str:
    try:
        return f"{float(h):.6g}"
    except (TypeError, ValueError):
        return "a value ≤ 0 for some runs"


def cholesky_solve(H: Sequence[Sequence[float]], b: list[float]) -> list[float]:
    """Solve H·d = b for a symmetric positive definite H (pure Python, small n).

    Raises CurvatureError if H is not positive definite (or not finite)."""
    n = len(b)
    L = [[0.0] * n for _ in range(n)]
    for i in range(n):
        for j in range(i + 1):
            s = H[i][j] - sum(L[i][k] * L[j][k] for k in range(j))
            if i == j:
                if not s > 0.0:  # also catches NaN
                    raise CurvatureError(
                        "the Hessian is not positive definite (its leading "
                        f"{i + 1}×{i + 1} block has a pivot of {s:.6g})"
                    )
                L[i][i] = s**0.5
            else:
                L[i][j] = s / L[j][j]
    y = [0.0] * n
    for i in range(n):
        y[i] = (b[i] - sum(L[i][k] * y[k] for k in range(i))) / L[i][i]
    x = [0.0] * n
    for i in range(n - 1, -1, -1):
        x[i] = (y[i] - sum(L[k][i] * x[k] for k in range(i + 1, n))) / L[i][i]
    return x


OPTIMIZERS: dict[str, type[Optimizer]] = {
    cls.name: cls for cls in (SGD, Momentum, Nesterov, Adagrad, RMSProp, Adam, Newton)
}

# The hyperparameter names each optimizer accepts (beyond eta).
HYPERPARAMETERS: dict[str, tuple[str, ...]] = {
    "sgd": (),
    "momentum": ("beta",),
    "nesterov": ("beta",),
    "adagrad": ("epsilon",),
    "rmsprop": ("rho", "epsilon"),
    "adam": ("beta1", "beta2", "epsilon"),
    "newton": (),
}


def make(name: str, eta: Any = None, **hyper: Any) -> Optimizer:
    """An optimizer by name; hyperparameters left as None take their defaults.

    Raises ValueError for an unknown name or a hyperparameter the optimizer does not take."""
    try:
        cls = OPTIMIZERS[name]
    except KeyError:
        raise ValueError(
            f"unknown optimizer '{name}'; use one of {', '.join(OPTIMIZERS)}"
        ) from None
    given = {k: v for k, v in hyper.items() if v is not None}
    extra = [k for k in given if k not in HYPERPARAMETERS[name]]
    if extra:
        raise ValueError(f"{name} does not take {', '.join(extra)}")
    return cls(eta, **given)
