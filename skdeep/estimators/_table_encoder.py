"""The built-in preprocessing of ``TabularClassifier`` / ``TabularRegressor``.

Turns a raw table (a DataFrame of numbers, strings, categories and booleans
with missing values, or a NumPy array, object arrays included) into the one
float32 matrix the tabular network reads (``skdeep.architectures.tabular``):

- numbers (booleans too), ``numeric_transform="robust"``: centred on the
  median, divided by the interquartile range (half the range when that is
  0), then smoothly clipped, ``x / sqrt(1 + (x / 3) ** 2)`` (RealMLP's robust
  scaling); ``"quantile"``: mapped through the column's empirical
  distribution to a standard normal (at most 1,000 quantiles, outputs
  bounded at +-5.2, as scikit-learn's
  ``QuantileTransformer(output_distribution="normal")``, except that tied
  values at either end map to the middle of their probability range, not
  to +-5.2: a 0 / 1 column becomes about -+0.67); ``inf`` and
  missing values become 0 (the median), with a missing indicator for each
  column that had missing values at fit;
- categories with at most ``max_one_hot`` levels (missing counts as a level
  when seen at fit): one-hot, a single +-1 column for two levels; more
  levels: an integer code (0 for a level unseen at fit) for a learned
  embedding.

Pure NumPy / pandas, fitted once per ``fit`` on the rows given to it.
"""

import numpy as np
import pandas as pd

__all__ = ["TableEncoder"]

_CLIP = 3.0
_N_QUANTILES = 1000
_BOUND = 1e-7  # scikit-learn's: normal outputs within ppf(1e-7) = -5.2, +5.2


def _columns(X):
    """The columns of X as a list of 1-D arrays (object or numeric)."""
    if isinstance(X, pd.DataFrame):
        return [X.iloc[:, j] for j in range(X.shape[1])]
    X = np.asarray(X)
    return [pd.Series(X[:, j]) for j in range(X.shape[1])]


def _as_numbers(column):
    """Float64 values of a column, or None if it holds text."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        return None
    if pd.api.types.is_bool_dtype(column.dtype) or pd.api.types.is_numeric_dtype(
            column.dtype):
        return pd.to_numeric(column, errors="coerce").to_numpy(np.float64,
                                                               na_value=np.nan)
    values = column.to_numpy(dtype=object)
    missing = pd.isna(values)
    present = values[~missing]
    if not all(isinstance(v, (bool, np.bool_, int, float, np.number))
               for v in present):
        return None
    out = np.full(len(values), np.nan)
    out[~missing] = present.astype(np.float64)
    return out


def _as_text(column):
    """``(labels, missing)``: str labels and a mask of missing values."""
    values = column.to_numpy(dtype=object)
    missing = np.asarray(pd.isna(values), dtype=bool)
    labels = np.array([str(v) for v in values], dtype=object)
    return labels, missing


class TableEncoder:
    """Fitted column rules (see the module docstring)."""

    def __init__(self, max_one_hot=8, numeric_transform="robust"):
        self.max_one_hot = max_one_hot
        self.numeric_transform = numeric_transform

    def fit(self, X):
        self.columns_ = []
        for column in _columns(X):
            numbers = _as_numbers(column)
            if numbers is not None:
                rule = self._fit_numeric(numbers)
                if self.numeric_transform == "quantile":
                    rule.update(_fit_quantiles(numbers))
                self.columns_.append(rule)
            else:
                self.columns_.append(self._fit_category(*_as_text(column)))
        numeric = [c for c in self.columns_ if c["kind"] == "numeric"]
        plain = sum(c["indicator"] for c in numeric) + sum(
            c["width"] for c in self.columns_ if c["kind"] == "one_hot")
        cards = [len(c["levels"]) + c["missing"] for c in self.columns_
                 if c["kind"] == "code"]
        self.layout_ = [len(numeric), int(plain), cards]
        return self

    @staticmethod
    def _fit_numeric(x):
        finite = x[np.isfinite(x)]
        missing = bool(len(finite) < len(x))
        if len(finite) == 0:
            return {"kind": "numeric", "center": 0.0, "scale": 1.0,
                    "indicator": missing}
        center = float(np.median(finite))
        q1, q3 = np.quantile(finite, [0.25, 0.75])
        spread = q3 - q1
        if spread <= 0:
            spread = (finite.max() - finite.min()) / 2
        return {"kind": "numeric", "center": center,
                "scale": float(spread) if spread > 0 else 1.0, "indicator": missing}

    def _fit_category(self, labels, missing):
        levels = sorted(set(labels[~missing].tolist()))
        with_missing = bool(missing.any())
        n_levels = len(levels) + with_missing
        kind = "one_hot" if n_levels <= self.max_one_hot else "code"
        width = 1 if n_levels <= 2 else n_levels
        return {"kind": kind, "levels": levels, "missing": with_missing,
                "width": width}

    def transform(self, X):
        cols = _columns(X)
        numeric, indicators, one_hot, codes = [], [], [], []
        for rule, column in zip(self.columns_, cols, strict=True):
            if rule["kind"] == "numeric":
                x = _as_numbers(column)
                if x is None:  # text where numbers were seen at fit
                    x = pd.to_numeric(column, errors="coerce").to_numpy(
                        np.float64, na_value=np.nan)
                bad = ~np.isfinite(x)
                if "quantiles" in rule:
                    numeric.append(_quantile_normal(
                        np.where(bad, rule["center"], x), rule["quantiles"]))
                else:
                    z = (np.where(bad, rule["center"], x) - rule["center"]) / rule[
                        "scale"]
                    numeric.append(z / np.sqrt(1.0 + (z / _CLIP) ** 2))
                if rule["indicator"]:
                    indicators.append(bad.astype(np.float64))
                continue
            labels, missing = _as_text(column)
            index = {level: i for i, level in enumerate(rule["levels"])}
            # 0: unseen level (or missing not seen at fit); 1..: levels, then missing
            code = np.array([index.get(v, -1) + 1 for v in labels], dtype=np.int64)
            code[missing] = len(rule["levels"]) + 1 if rule["missing"] else 0
            if rule["kind"] == "code":
                codes.append(code.astype(np.float64))
            elif rule["width"] == 1:  # two levels: -1 / +1, unseen 0
                one_hot.append(np.select([code == 1, code == 2], [-1.0, 1.0], 0.0))
            else:
                block = np.zeros((len(code), rule["width"]))
                rows = np.flatnonzero(code > 0)
                block[rows, code[rows] - 1] = 1.0
                one_hot.extend(block.T)
        parts = numeric + indicators + one_hot + codes
        n = len(cols[0]) if cols else (X.shape[0] if hasattr(X, "shape") else 0)
        if not parts:
            return np.zeros((n, 0), np.float32)
        return np.column_stack(parts).astype(np.float32)


def _fit_quantiles(x):
    """The column's quantiles at evenly spaced levels (for ``"quantile"``)."""
    finite = x[np.isfinite(x)]
    if len(finite) == 0:
        finite = np.zeros(1)
    levels = np.linspace(0.0, 1.0, min(_N_QUANTILES, len(finite)))
    return {"quantiles": np.quantile(finite, levels)}


def _quantile_normal(x, quantiles):
    """Normal scores of x through the fitted quantiles: the probability is
    interpolated upwards and downwards and averaged, so that tied values (a
    discrete column) map to the middle of their probability range, then
    passed through the normal's inverse CDF; the median maps to 0."""
    from scipy.special import ndtri

    if len(quantiles) < 2 or quantiles[0] == quantiles[-1]:
        return np.zeros(len(x))
    levels = np.linspace(0.0, 1.0, len(quantiles))
    p = 0.5 * (np.interp(x, quantiles, levels)
               - np.interp(-x, -quantiles[::-1], -levels[::-1]))
    return ndtri(np.clip(p, _BOUND, 1.0 - _BOUND))
