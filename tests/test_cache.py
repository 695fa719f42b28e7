"""The cache of traced loops and forward passes (``skdeep.engine.cache``):
what may share a cached network, and the bound on what the cache holds."""

import keras
import numpy as np
import pytest
from numpy.testing import assert_allclose

import skdeep
from skdeep import (
    AutoencoderTransformer,
    CNNClassifier,
    KerasClassifier,
    KerasRegressor,
    MLPClassifier,
    MLPRegressor,
    SequenceClassifier,
    SequenceRegressor,
    TextClassifier,
    TransferClassifier,
    engine,
)

E = dict(epochs=2, random_state=0)
_rng = np.random.RandomState(0)
_X = _rng.normal(size=(40, 5)).astype(np.float32)
_Y3 = _rng.randint(0, 3, 40)
_YR = _rng.normal(size=40)
_IMAGES = _rng.normal(size=(40, 6, 6, 1)).astype(np.float32)
_SEQ = _rng.normal(size=(40, 4, 2)).astype(np.float32)
_WORDS = [f"w{i}" for i in range(60)]


def _texts(n_words, rows=40, seed=0):
    rng = np.random.RandomState(seed)
    return np.array([" ".join(rng.choice(_WORDS[:n_words], 6)) for _ in range(rows)])


def _dense_net(n_out, activation):
    def build(meta, units):
        return keras.Sequential([
            keras.Input((meta["n_features_in_"],)),
            keras.layers.Dense(units, activation="relu"),
            keras.layers.Dense(n_out, activation=activation)])
    return build


def _base_model(tmp_path_factory):
    path = tmp_path_factory.mktemp("base") / "base.keras"
    keras.Sequential([keras.Input((6, 6, 1)), keras.layers.Conv2D(2, 3),
                      keras.layers.GlobalAveragePooling2D()]).save(path)
    return str(path)


# family -> (estimator with a weight shape of size ``n``, X, y, uses the cache)
FAMILIES = {
    "MLPClassifier": (lambda n, _: MLPClassifier((n,), **E), _X, _Y3, True),
    "MLPRegressor": (lambda n, _: MLPRegressor((n,), **E), _X, _YR, True),
    "CNNClassifier": (lambda n, _: CNNClassifier(
        conv_filters=(2,), dense_layer_sizes=(n,), **E), _IMAGES, _Y3, True),
    # a pretrained base is trained by keras.Model.fit: it has no cache key
    "TransferClassifier": (lambda n, base: TransferClassifier(
        base, head_layer_sizes=(n,), **E), _IMAGES, _Y3, False),
    "SequenceClassifier": (lambda n, _: SequenceClassifier(
        recurrent_layer_sizes=(n,), **E), _SEQ, _Y3, True),
    "SequenceRegressor": (lambda n, _: SequenceRegressor(
        recurrent_layer_sizes=(n,), **E), _SEQ, _YR, True),
    "TextClassifier": (lambda n, _: TextClassifier(
        max_tokens=100, sequence_length=6, embedding_dim=n, **E), _texts(20), _Y3,
        True),
    "AutoencoderTransformer": (lambda n, _: AutoencoderTransformer(
        encoder_layer_sizes=(4,), latent_dim=n, **E), _X, None, True),
    "KerasClassifier": (lambda n, _: KerasClassifier(
        _dense_net(3, "softmax"), model__units=n, optimizer="adam", verbose=0,
        **E), _X, _Y3, True),
    "KerasRegressor": (lambda n, _: KerasRegressor(
        _dense_net(1, None), model__units=n, optimizer="adam", loss="mse",
        verbose=0, **E), _X, _YR, True),
}


def _fit(est, X, y):
    return est.fit(X) if y is None else est.fit(X, y)


def _output(est, X):
    if hasattr(est, "predict_proba"):
        return est.predict_proba(X)
    return est.transform(X) if isinstance(est, AutoencoderTransformer) else (
        est.predict(X))


def _coarse_keys(monkeypatch):
    """Family keys that name the family only: as if every family left every
    weight shape out of its key (as the text family leaves its vocabulary)."""
    architecture_key, network_key = engine.architecture_key, engine.network_key

    def family_only(est, meta, input_shape):
        key = architecture_key(est, meta, input_shape)
        return key and f"every {type(est).__name__}"

    def config_free(model, input_shape):
        key = network_key(model, input_shape)
        return key and "every network"

    monkeypatch.setattr(engine, "architecture_key", family_only)
    monkeypatch.setattr(engine, "network_key", config_free)


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_networks_whose_weights_differ_in_shape_never_share_a_cached_network(
        monkeypatch, tmp_path_factory, family):
    make, X, y, cached = FAMILIES[family]
    base = _base_model(tmp_path_factory) if family == "TransferClassifier" else None
    _coarse_keys(monkeypatch)
    skdeep.clear_cache()
    fitted = {n: _fit(make(n, base), X, y) for n in (2, 3)}  # one cache
    # both fits ran on cached loops (under one family key), kept apart
    assert skdeep.cache_info()["trainers"] == (2 if cached else 0)
    shared = {n: _output(est, X) for n, est in fitted.items()}
    for n in (2, 3):
        skdeep.clear_cache()
        fresh = _fit(make(n, base), X, y)
        assert_allclose(shared[n], _output(fresh, X))


def test_text_fits_with_different_vocabularies_match_fits_in_a_fresh_cache():
    # each fold of a cross-validation learns its own vocabulary: the
    # embedding's shape follows it, and no parameter names it
    corpora = [(_texts(10), _Y3), (_texts(50, seed=1), _Y3)]

    def make():
        return TextClassifier(max_tokens=100, sequence_length=6, embedding_dim=4,
                              **E)

    skdeep.clear_cache()
    fitted = [make().fit(X, y) for X, y in corpora]
    sizes = {len(est.vocabulary_) for est in fitted}
    assert len(sizes) == 2, sizes
    outputs = [est.predict_proba(X)
               for est, (X, _) in zip(fitted, corpora, strict=True)]
    for (X, y), shared in zip(corpora, outputs, strict=True):
        skdeep.clear_cache()
        assert_allclose(shared, make().fit(X, y).predict_proba(X))


def _blobs():
    rng = np.random.RandomState(0)
    y = rng.randint(0, 3, size=90)
    X = np.eye(3, 4)[y] * 2.0 + rng.normal(scale=0.5, size=(90, 4))
    return X.astype(np.float32), y


def _nbytes(model):
    return sum(int(np.prod(v.shape)) * np.dtype(v.dtype).itemsize
               for v in model.variables)


def test_forward_passes_count_in_the_cache_and_its_bound():
    X, y = _blobs()
    skdeep.clear_cache()
    est = MLPClassifier((7,), epochs=1, random_state=0).fit(X, y)
    est.predict(X)
    info = skdeep.cache_info()
    assert (info["trainers"], info["forward_functions"]) == (1, 1)
    assert info["networks"] == 2
    # the forward pass's copy of the network is counted, in bytes too
    assert info["forward_bytes"] == _nbytes(est.model_)
    assert info["trainer_bytes"] > info["forward_bytes"]
    assert info["bytes"] == info["trainer_bytes"] + info["forward_bytes"]
    # 16 networks at most (README), training loops and forward passes together
    for units in range(1, 10):
        MLPClassifier((units,), epochs=1, random_state=0).fit(X, y).predict(X)
    info = skdeep.cache_info()
    assert info["trainers"] + info["forward_functions"] == 16
    assert info["networks"] == 16
    assert info["forward_functions"] >= 7


def test_the_byte_bound_counts_forward_passes(monkeypatch):
    from skdeep.engine import cache

    X, y = _blobs()
    skdeep.clear_cache()
    MLPClassifier((30,), epochs=1, random_state=0).fit(X, y).predict(X)
    one = skdeep.cache_info()["bytes"]  # a trainer and a forward pass
    monkeypatch.setattr(cache, "MAX_BYTES", int(one * 1.5))
    MLPClassifier((31,), epochs=1, random_state=0).fit(X, y).predict(X)
    info = skdeep.cache_info()
    assert 0 < info["bytes"] <= one * 1.5
    assert info["networks"] < 4


def test_reuse_off_keeps_no_forward_pass_either(monkeypatch):
    X, y = _blobs()
    shared = MLPClassifier((8,), epochs=2, random_state=0).fit(X, y)
    skdeep.clear_cache()
    monkeypatch.setenv("SKDEEP_REUSE_NETWORKS", "0")
    est = MLPClassifier((8,), epochs=2, random_state=0).fit(X, y)
    proba = est.predict_proba(X)
    assert skdeep.cache_info()["forward_functions"] == 0
    assert skdeep.cache_info()["networks"] == 0
    assert_allclose(proba, shared.predict_proba(X), rtol=1e-5)


def test_cache_info_counts_traces_until_the_cache_is_cleared():
    X, y = _blobs()
    skdeep.clear_cache()
    for seed in (0, 1):  # the second fit and prediction reuse the traces
        MLPClassifier((6,), epochs=1, random_state=seed).fit(X, y).predict(X)
    info = skdeep.cache_info()
    assert (info["trainer_traces"], info["forward_traces"]) == (1, 1)
    MLPClassifier((5,), epochs=1, random_state=0).fit(X, y).predict(X)
    info = skdeep.cache_info()
    assert (info["trainer_traces"], info["forward_traces"]) == (2, 2)
    skdeep.clear_cache()
    info = skdeep.cache_info()
    assert (info["trainer_traces"], info["forward_traces"]) == (0, 0)
