"""Messy frames through TabularCleaner and make_tabular_pipeline."""

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from skdeep import MLPClassifier, MLPRegressor, TabularCleaner, make_tabular_pipeline

FAST = dict(hidden_layer_sizes=(16,), epochs=40, learning_rate=0.01, random_state=0)


def messy_frame(n=600, seed=0):
    """Mixed dtypes, numbers as text, NaN, inf, junk columns, a learnable target."""
    rng = np.random.RandomState(seed)
    age = rng.randint(18, 80, size=n).astype(float)
    income = rng.normal(50, 15, size=n)
    city = rng.choice(["Oslo", "Lima", "Pune"], size=n)
    score = 0.06 * (age - 48) + (income - 50) / 15 + np.where(city == "Oslo", 1.5, -0.5)
    y = np.where(score > 0, "buy", "skip")
    age_text = age.astype(int).astype(str).astype(object)
    age_text[rng.rand(n) < 0.05] = "n/a"
    age_text[rng.rand(n) < 0.03] = "?"
    income[rng.rand(n) < 0.05] = np.nan
    income[rng.rand(n) < 0.01] = np.inf
    city = city.astype(object)
    city[rng.rand(n) < 0.05] = None
    frame = pd.DataFrame({
        "age": age_text,
        "income": income,
        "city": city,
        "member": rng.rand(n) < 0.5,
        "constant": 7,
        "empty": np.nan,
    })
    return frame, pd.Series(y, name="target")


def test_cleaner_types_and_drops(tmp_path):
    X, _ = messy_frame()
    original = X.copy()
    cleaner = TabularCleaner().fit(X)
    assert cleaner.numeric_columns_ == ["age", "income", "member"]
    assert cleaner.categorical_columns_ == ["city"]
    assert cleaner.dropped_columns_ == ["constant", "empty"]
    out = cleaner.transform(X)
    pd.testing.assert_frame_equal(X, original)  # caller's frame untouched
    assert len(out) == len(X)  # never drops rows
    assert list(out.columns) == ["age", "income", "city", "member"]
    assert out["age"].dtype == np.float64 and out["age"].isna().sum() > 0
    assert not np.isinf(out["income"]).any()
    assert list(cleaner.get_feature_names_out()) == list(out.columns)


def test_cleaner_on_arrays_and_set_output():
    X = np.array([[1.0, 5.0, np.inf], [2.0, 5.0, 3.0], [3.0, 5.0, 4.0]])
    cleaner = TabularCleaner()
    out = cleaner.fit_transform(X)
    assert isinstance(out, np.ndarray) and out.shape == (3, 2)
    assert np.isnan(out[0, 1])
    frame = TabularCleaner().set_output(transform="pandas").fit_transform(X)
    assert list(frame.columns) == ["x0", "x2"]


def test_cleaner_rejects_a_table_with_nothing_usable():
    X = pd.DataFrame({"a": [np.nan] * 4, "b": ["x"] * 4})
    with pytest.raises(ValueError, match=r"no usable feature column.*\['a', 'b'\]"):
        TabularCleaner().fit(X)


def test_pipeline_learns_a_messy_frame_with_unseen_categories():
    X, y = messy_frame()
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, random_state=0, stratify=y)
    pipe = make_tabular_pipeline(MLPClassifier(**FAST)).fit(X_tr, y_tr)
    assert pipe.score(X_te, y_te) > 0.85
    # unseen category, an all-NaN column and junk text at predict time
    X_new = X_te.copy()
    X_new["city"] = "Kyiv"
    X_new["income"] = np.nan
    X_new.loc[X_new.index[:5], "age"] = "unknown"
    pred = pipe.predict(X_new)
    assert set(pred) <= {"buy", "skip"} and len(pred) == len(X_new)
    proba = pipe.predict_proba(X_new)
    assert np.isfinite(proba).all()


def test_pipeline_on_numpy_arrays(digits):
    X, y = digits
    pipe = make_tabular_pipeline(MLPClassifier(**FAST), scaler="minmax")
    pipe.fit(X[:1000], y[:1000])
    assert pipe.score(X[1000:], y[1000:]) > 0.85


def test_pipeline_regression_with_robust_scaler():
    X, _ = messy_frame()
    age = pd.to_numeric(X["age"], errors="coerce").fillna(48)
    y = 3 * age + np.where(X["city"] == "Oslo", 50, 0)
    pipe = make_tabular_pipeline(MLPRegressor(**FAST), scaler="robust").fit(X, y)
    assert pipe.score(X, y) > 0.8


def test_grid_search_over_model_and_scaler_then_joblib(tmp_path):
    X, y = messy_frame(n=300)
    pipe = make_tabular_pipeline(MLPClassifier(**dict(FAST, epochs=15)))
    grid = {
        "model__hidden_layer_sizes": [(4,), (16,)],
        "preprocess__numeric__scaler": [StandardScaler(), MinMaxScaler()],
    }
    search = GridSearchCV(pipe, grid, cv=2).fit(X, y)
    assert len(search.cv_results_["params"]) == 4
    assert search.best_score_ > 0.7
    path = tmp_path / "best.joblib"
    joblib.dump(search.best_estimator_, path)
    loaded = joblib.load(path)
    np.testing.assert_array_equal(loaded.predict_proba(X),
                                  search.best_estimator_.predict_proba(X))


def test_missing_target_values_are_a_clear_error():
    X, y = messy_frame(n=50)
    y = y.astype(object)
    y.iloc[[3, 9]] = None
    with pytest.raises(ValueError, match=r"y has missing values in 2 of 50 rows"):
        make_tabular_pipeline(MLPClassifier(**FAST)).fit(X, y)


def test_bad_scaler_and_impute():
    with pytest.raises(ValueError, match=r"scaler must be one of \['minmax', "):
        make_tabular_pipeline(MLPClassifier(), scaler="zscore")
    with pytest.raises(TypeError, match="scikit-learn transformer"):
        make_tabular_pipeline(MLPClassifier(), scaler=42)
    with pytest.raises(ValueError, match="impute must be"):
        make_tabular_pipeline(MLPClassifier(), impute="zero")


def _binary_net(meta):
    import keras

    return keras.Sequential([
        keras.Input((meta["n_features_in_"],)),
        keras.layers.Dense(16, activation="relu"),
        keras.layers.Dense(1, activation="sigmoid"),
    ])


def test_pipeline_around_scikeras(tmp_path):
    scikeras = pytest.importorskip("scikeras.wrappers")
    X, y = messy_frame()
    y = (y == "buy").astype(int)
    clf = scikeras.KerasClassifier(_binary_net, loss="binary_crossentropy", epochs=20,
                                   optimizer__learning_rate=0.01, verbose=0,
                                   random_state=0)
    pipe = make_tabular_pipeline(clf).fit(X, y)
    assert pipe.score(X, y) > 0.8
    joblib.dump(pipe, tmp_path / "scikeras.joblib")
    loaded = joblib.load(tmp_path / "scikeras.joblib")
    np.testing.assert_allclose(loaded.predict_proba(X), pipe.predict_proba(X),
                               rtol=1e-5)


def test_pipeline_on_a_numpy_object_array_with_text_columns():
    # the same messy table as a NumPy object array, as np.loadtxt / .values give
    frame, y = messy_frame()
    params = dict(hidden_layer_sizes=(16,), epochs=30, learning_rate=0.01,
                  random_state=0)
    as_array = frame.to_numpy(dtype=object)
    pipe = make_tabular_pipeline(MLPClassifier(**params)).fit(as_array[:450], y[:450])
    from_frame = make_tabular_pipeline(MLPClassifier(**params)).fit(frame[:450],
                                                                    y[:450])
    array_score = pipe.score(as_array[450:], y[450:])
    assert array_score > 0.85
    assert array_score == pytest.approx(from_frame.score(frame[450:], y[450:]),
                                        abs=0.03)
