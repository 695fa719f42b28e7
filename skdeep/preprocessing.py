"""Cleaning and scaling in front of the network.

``TabularCleaner`` repairs messy frames (numbers stored as text, ``inf``,
empty or constant columns); ``make_tabular_pipeline`` puts it, imputation,
scaling and one-hot encoding in front of any estimator as one tunable
``Pipeline``.
"""

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import (
    MinMaxScaler,
    OneHotEncoder,
    RobustScaler,
    StandardScaler,
)
from sklearn.utils.validation import check_is_fitted

from skdeep._compat import validate_data

__all__ = ["TabularCleaner", "make_tabular_pipeline"]

# Text that means "missing" in hand-made and exported spreadsheets.
_MISSING_TOKENS = {"", "?", "-", "na", "n/a", "nan", "null", "none", "missing", "#n/a"}


def _is_numeric(series):
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(
        series
    )


def _to_numbers(series):
    """Parse text as numbers; missing tokens and failures become NaN."""
    text = series.astype("string").str.strip()
    text = text.mask(text.str.lower().isin(_MISSING_TOKENS))
    return pd.to_numeric(text, errors="coerce").astype(np.float64)


class TabularCleaner(TransformerMixin, BaseEstimator):
    """Repair a messy table before imputation and scaling.

    At ``fit`` it learns, per column, whether the column is numeric (also
    when numbers are stored as text such as ``"3.5"``, with missing markers
    like ``"?"`` or ``"n/a"``), and which columns carry no information
    (entirely missing, or a single value everywhere). ``transform`` then
    turns numeric-looking text into numbers, ``inf`` into NaN, booleans into
    0/1, other text into strings (NaN kept), and drops the uninformative
    columns. Rows are never dropped and the caller's frame is never changed.

    pandas in, pandas out; a NumPy array in gives an array out (or a frame
    with ``set_output(transform="pandas")``).

    Attributes
    ----------
    numeric_columns_ : list
        Columns treated as numbers.
    categorical_columns_ : list
        Columns treated as categories.
    dropped_columns_ : list
        Columns dropped as entirely missing or constant.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when X had string column names.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from skdeep import TabularCleaner
    >>> df = pd.DataFrame({"age": ["31", "n/a", "47"], "empty": [np.nan] * 3,
    ...                    "city": ["Oslo", "Lima", None], "rate": [1.5, np.inf, 2.0]})
    >>> out = TabularCleaner().fit_transform(df)
    >>> list(out.columns), out["age"].tolist(), out["rate"].isna().tolist()
    (['age', 'city', 'rate'], [31.0, nan, 47.0], [False, True, False])
    """

    def fit(self, X, y=None):
        """Learn column types and which columns to drop."""
        frame = self._as_frame(X, reset=True)
        numeric, categorical, dropped = [], [], []
        for column in frame.columns:
            series = frame[column]
            if _is_numeric(series) or pd.api.types.is_bool_dtype(series):
                kind = "numeric"
                values = series.astype(np.float64).replace([np.inf, -np.inf], np.nan)
            else:
                parsed = _to_numbers(series)
                text = series.astype("string").str.strip().str.lower()
                present = series.notna() & ~text.isin(_MISSING_TOKENS).fillna(False)
                # numeric if every present value parses as a number
                if present.any() and parsed[present].notna().all():
                    kind, values = "numeric", parsed
                else:
                    kind, values = "categorical", series.where(series.notna())
            if values.nunique(dropna=False) <= 1:
                dropped.append(column)
            elif kind == "numeric":
                numeric.append(column)
            else:
                categorical.append(column)
        if not numeric and not categorical:
            raise ValueError(
                f"TabularCleaner found no usable feature column: all "
                f"{len(dropped)} column(s) are entirely missing or constant "
                f"({dropped[:10]}). Check that the right data was loaded."
            )
        self.numeric_columns_ = numeric
        self.categorical_columns_ = categorical
        self.dropped_columns_ = dropped
        return self

    def transform(self, X):
        """Apply the learned cleaning; returns a new frame (or array)."""
        check_is_fitted(self, "numeric_columns_")
        is_frame = isinstance(X, pd.DataFrame)
        frame = self._as_frame(X, reset=False)
        out = {}
        for column in self.get_feature_names_out(dtype=object):
            series = frame[column]
            if column in self.numeric_columns_:
                native = _is_numeric(series) or pd.api.types.is_bool_dtype(series)
                values = series.astype(np.float64) if native else _to_numbers(series)
                out[column] = values.replace([np.inf, -np.inf], np.nan)
            else:
                text = series.astype(object)
                out[column] = text.where(series.notna(), np.nan).map(
                    lambda v: v if isinstance(v, float) and np.isnan(v) else str(v))
        result = pd.DataFrame(out, index=frame.index)
        if is_frame:
            return result
        return result.to_numpy(
            dtype=np.float64 if not self.categorical_columns_ else object)

    def _as_frame(self, X, *, reset):
        validate_data(self, X, reset=reset, skip_check_array=True)
        if isinstance(X, pd.DataFrame):
            return X
        array = np.asarray(X)
        if array.ndim != 2:
            raise ValueError(
                f"TabularCleaner expects a 2-D table (rows x columns); got an "
                f"array of shape {array.shape}. Reshape a single feature with "
                "X.reshape(-1, 1)."
            )
        if not reset and array.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {array.shape[1]} features, but TabularCleaner is "
                f"expecting {self.n_features_in_} features as input."
            )
        return pd.DataFrame(array)

    def get_feature_names_out(self, input_features=None, dtype=str):
        """Names of the kept columns, in their original order."""
        check_is_fitted(self, "numeric_columns_")
        kept = set(self.numeric_columns_) | set(self.categorical_columns_)
        names = getattr(self, "feature_names_in_", None)
        order = list(names) if names is not None else list(range(self.n_features_in_))
        kept_in_order = [c for c in order if c in kept]
        if dtype is object:
            return kept_in_order
        if names is None:
            return np.asarray([f"x{c}" for c in kept_in_order], dtype=object)
        return np.asarray(kept_in_order, dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.string = True
        tags.input_tags.categorical = True
        return tags


class _ColumnsOfKind:
    """Column selector for ColumnTransformer: the cleaner's numeric or
    categorical columns, or an explicit list. Picklable, unlike a lambda."""

    def __init__(self, kind, explicit="auto"):
        self.kind = kind
        self.explicit = explicit

    def __call__(self, X):
        if self.explicit != "auto":
            return list(self.explicit)
        if not isinstance(X, pd.DataFrame):
            # TabularCleaner's output for an array: floats, or text (and NaN)
            # in an object array when some columns are categorical
            numeric = [j for j in range(X.shape[1]) if X.dtype != object
                       or not any(isinstance(v, str) for v in X[:, j])]
            if self.kind == "numeric":
                return numeric
            return [j for j in range(X.shape[1]) if j not in numeric]
        numeric = [c for c in X.columns if _is_numeric(X[c])]
        if self.kind == "numeric":
            return numeric
        return [c for c in X.columns if c not in numeric]

    def __repr__(self):
        return f"_ColumnsOfKind({self.kind!r})"


_SCALERS = {"standard": StandardScaler, "minmax": MinMaxScaler, "robust": RobustScaler}


def _make_scaler(scaler):
    if scaler is None or scaler == "passthrough":
        return "passthrough"
    if isinstance(scaler, str):
        if scaler not in _SCALERS:
            raise ValueError(
                f"scaler must be one of {sorted(_SCALERS)}, None, or a "
                f"transformer such as sklearn.preprocessing.QuantileTransformer(); "
                f"got {scaler!r}."
            )
        return _SCALERS[scaler]()
    if not hasattr(scaler, "fit") or not hasattr(scaler, "transform"):
        raise TypeError(
            f"scaler must be a name or a scikit-learn transformer with fit and "
            f"transform; got {type(scaler).__name__}."
        )
    return clone(scaler)


def make_tabular_pipeline(
    estimator, *, numeric="auto", categorical="auto", scaler="standard",
    impute="median",
):
    """Pipeline ``clean -> preprocess -> model`` around ``estimator``.

    Parameters
    ----------
    estimator : estimator
        Any skdeep estimator, a scikeras wrapper, or any scikit-learn
        estimator.
    numeric, categorical : "auto" or list of column names, default="auto"
        Columns for each branch; ``"auto"`` uses the types found by
        :class:`TabularCleaner` (text columns are categorical).
    scaler : {"standard", "minmax", "robust"}, None or transformer, \
default="standard"
        The numeric branch's ``scaler`` step, tunable as
        ``preprocess__numeric__scaler``.
    impute : {"median", "mean", "most_frequent"}, default="median"
        How missing numbers are filled; missing categories become their own
        category, and categories unseen at fit are encoded as all zeros.

    Returns
    -------
    sklearn.pipeline.Pipeline
        Steps ``"clean"``, ``"preprocess"`` (a ``ColumnTransformer`` with
        ``"numeric"`` and ``"categorical"`` branches) and ``"model"``.

    Examples
    --------
    >>> from skdeep import MLPClassifier, make_tabular_pipeline
    >>> pipe = make_tabular_pipeline(MLPClassifier(), scaler="robust")
    >>> [name for name, _ in pipe.steps]
    ['clean', 'preprocess', 'model']
    """
    if impute not in ("median", "mean", "most_frequent"):
        raise ValueError(
            f"impute must be 'median', 'mean' or 'most_frequent'; got {impute!r}."
        )
    numeric_branch = Pipeline([
        ("impute", SimpleImputer(strategy=impute, keep_empty_features=True)),
        ("scaler", _make_scaler(scaler)),
    ])
    categorical_branch = Pipeline([
        ("impute", SimpleImputer(strategy="constant", fill_value="missing",
                                 keep_empty_features=True)),
        ("onehot", OneHotEncoder(handle_unknown="ignore", sparse_output=False)),
    ])
    preprocess = ColumnTransformer(
        [
            ("numeric", numeric_branch, _ColumnsOfKind("numeric", numeric)),
            ("categorical", categorical_branch,
             _ColumnsOfKind("categorical", categorical)),
        ],
        sparse_threshold=0.0,
    )
    return Pipeline([
        ("clean", TabularCleaner()),
        ("preprocess", preprocess),
        ("model", estimator),
    ])
