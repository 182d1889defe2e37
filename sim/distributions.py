"""Named probability distributions, validated by pydantic and drawn in bulk.

Every distribution in a scenario is written ``{dist: NAME, ...}``. Parameters that are
durations accept units (``{dist: exponential, mean: 2h}``); the model's clock is in days.
Each class draws ``n`` values at once with :meth:`sample`, so the simulation never makes
one numpy scalar call per event.
"""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from .units import parse_duration

__all__ = [
    "Quantity",
    "Distribution",
    "Constant",
    "Exponential",
    "Lognormal",
    "Gamma",
    "Triangular",
    "Uniform",
    "Beta",
    "Empirical",
]

#: A number, or a duration string converted to days. Bounded so that no draw overflows a
#: float or a calendar: 1e12 days or dollars is far beyond any real market.
Quantity = Annotated[float, BeforeValidator(parse_duration), Field(le=1e12)]

#: Smallest positive mean or spread accepted (smaller ones overflow the shape formulas).
_TINY = 1e-9


class _Dist(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Draw ``n`` independent values."""
        raise NotImplementedError

    @property
    def mean_value(self) -> float:
        """The distribution's mean (used for capacity estimates and documentation)."""
        raise NotImplementedError


class Constant(_Dist):
    """Always ``value``."""

    dist: Literal["constant"]
    value: Quantity = Field(ge=0)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return np.full(n, self.value)

    @property
    def mean_value(self) -> float:
        return self.value


class Exponential(_Dist):
    """Exponential with the given ``mean``."""

    dist: Literal["exponential"]
    mean: Quantity = Field(ge=_TINY)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.exponential(self.mean, n)

    @property
    def mean_value(self) -> float:
        return self.mean


class Lognormal(_Dist):
    """Lognormal given by its own ``mean`` and standard deviation ``sd`` (not the log's)."""

    dist: Literal["lognormal"]
    mean: Quantity = Field(ge=_TINY)
    sd: Quantity = Field(ge=0)

    @model_validator(mode="after")
    def _spread(self) -> Lognormal:
        if self.sd > 1e3 * self.mean:
            raise ValueError("expected sd <= 1000 x mean")
        return self

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        sigma2 = np.log1p((self.sd / self.mean) ** 2)
        mu = np.log(self.mean) - sigma2 / 2
        return rng.lognormal(mu, np.sqrt(sigma2), n)

    @property
    def mean_value(self) -> float:
        return self.mean


class Gamma(_Dist):
    """Gamma given by ``mean`` and ``sd``."""

    dist: Literal["gamma"]
    mean: Quantity = Field(ge=_TINY)
    sd: Quantity = Field(ge=_TINY)

    @model_validator(mode="after")
    def _spread(self) -> Gamma:
        if self.sd > 1e3 * self.mean:
            raise ValueError("expected sd <= 1000 x mean")
        return self

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        shape = (self.mean / self.sd) ** 2
        return rng.gamma(shape, self.mean / shape, n)

    @property
    def mean_value(self) -> float:
        return self.mean


class Triangular(_Dist):
    """Triangular on [``low``, ``high``] with peak at ``mode``."""

    dist: Literal["triangular"]
    low: Quantity = Field(ge=0)
    mode: Quantity = Field(ge=0)
    high: Quantity = Field(ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> Triangular:
        if not self.low <= self.mode <= self.high or self.low == self.high:
            raise ValueError("expected low <= mode <= high with low < high")
        return self

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.triangular(self.low, self.mode, self.high, n)

    @property
    def mean_value(self) -> float:
        return (self.low + self.mode + self.high) / 3


class Uniform(_Dist):
    """Uniform on [``low``, ``high``)."""

    dist: Literal["uniform"]
    low: Quantity = Field(ge=0)
    high: Quantity = Field(ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> Uniform:
        if not self.low < self.high:
            raise ValueError("expected low < high")
        return self

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.uniform(self.low, self.high, n)

    @property
    def mean_value(self) -> float:
        return (self.low + self.high) / 2


class Beta(_Dist):
    """Beta on [0, 1] given by its ``mean`` and ``sd`` (for fit and other shares)."""

    dist: Literal["beta"]
    mean: float = Field(gt=0, lt=1)
    sd: float = Field(gt=0)

    @model_validator(mode="after")
    def _feasible(self) -> Beta:
        if self.sd**2 >= self.mean * (1 - self.mean):
            raise ValueError("expected sd**2 < mean * (1 - mean) for a beta distribution")
        return self

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        k = self.mean * (1 - self.mean) / self.sd**2 - 1
        return rng.beta(self.mean * k, (1 - self.mean) * k, n)

    @property
    def mean_value(self) -> float:
        return self.mean


class Empirical(_Dist):
    """One of ``values``, with optional ``weights`` (normalised)."""

    dist: Literal["empirical"]
    values: list[Quantity] = Field(min_length=1)
    weights: list[float] | None = None

    @model_validator(mode="after")
    def _weights(self) -> Empirical:
        if any(v < 0 for v in self.values):
            raise ValueError("expected non-negative values")
        if self.weights is not None:
            if len(self.weights) != len(self.values):
                raise ValueError("expected as many weights as values")
            if any(w < 0 for w in self.weights) or sum(self.weights) <= 0:
                raise ValueError("expected non-negative weights with a positive sum")
        return self

    def _p(self) -> np.ndarray | None:
        if self.weights is None:
            return None
        w = np.asarray(self.weights, dtype=float)
        p: np.ndarray = w / w.sum()
        return p

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.choice(np.asarray(self.values, dtype=float), size=n, p=self._p())

    @property
    def mean_value(self) -> float:
        p = self._p()
        return float(np.average(self.values, weights=p))


Distribution = Annotated[
    Constant | Exponential | Lognormal | Gamma | Triangular | Uniform | Beta | Empirical,
    Field(discriminator="dist"),
]
