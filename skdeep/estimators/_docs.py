"""numpydoc fragments shared by the estimators' docstrings.

Every estimator documents every parameter; the training parameters and
fitted attributes are the same everywhere, so their text is written once.
"""

__all__ = ["ARCH_DOC", "ATTR_DOC", "CLASS_WEIGHT_DOC", "LAYER_DOC", "TRAINING_DOC"]

TRAINING_DOC = """
    optimizer : {"adam", "sgd", "rmsprop", "adagrad", "adamw", "nadam"} or \
keras optimizer, default="adam"
        The optimizer, by name or as a Keras optimizer class or instance. An
        instance is copied at each fit, never trained in place, and keeps all
        its own settings, its learning rate included.
    learning_rate : float, default=1e-3
        Initial learning rate of an optimizer given by name or class (an
        instance passed as ``optimizer`` keeps its own).
    momentum : float, default=0.0
        Momentum of ``"sgd"`` and ``"rmsprop"``; ignored by the others.
    lr_schedule : {"constant", "exponential", "step", "cosine", "plateau"}, \
default="constant"
        How the learning rate changes: ``"exponential"`` multiplies it by
        ``lr_decay`` every epoch (smoothly, step by step), ``"step"`` every
        ``epochs // 4`` epochs; ``"cosine"`` decays it to 0 over ``epochs``;
        ``"plateau"`` multiplies it by ``lr_decay`` when the monitored loss
        has not improved by ``tol`` for ``patience // 2`` epochs. A schedule
        scales the optimizer's own initial rate: ``learning_rate``, or the
        rate of an optimizer instance (one with a schedule of its own needs
        ``"constant"``). The rate after each epoch is recorded in
        ``history_["learning_rate"]``.
    lr_decay : float, default=0.5
        Factor of the ``"exponential"``, ``"step"`` and ``"plateau"``
        schedules, in (0, 1].
    batch_size : int, default=32
        Rows per gradient step (capped at the number of training rows). The
        last batch of an epoch may be smaller: an epoch is exactly one pass.
    epochs : int, default=200
        Maximum number of passes over the training data.
    early_stopping : bool, default=True
        Hold out ``validation_fraction`` of the rows given to ``fit``
        (stratified for classifiers, seeded by ``random_state``) and stop when
        the validation loss has not improved by ``tol`` for ``patience``
        epochs, restoring the weights of the best epoch. With ``False``, all
        rows train and training stops when the training loss stalls, as
        scikit-learn's MLP does. ``partial_fit`` needs ``False``.
    validation_fraction : float, default=0.1
        Share of the rows held out for early stopping, in (0, 1).
    patience : int, default=10
        Epochs without an improvement of ``tol`` before training stops.
    tol : float, default=1e-4
        An epoch improves on the best so far only when the monitored loss is
        lower by more than ``tol`` (as Keras's ``EarlyStopping(min_delta=tol)``
        and scikit-learn's MLP); with a score (``early_stopping_metric``),
        when it is higher by more than ``tol``.
    early_stopping_metric : str, default="loss"
        What early stopping (the ``patience`` rule) watches. ``"loss"``: the
        network's loss, lower is better. ``"score"``: the estimator's own
        score (accuracy for classifiers, R² for regressors, as
        scikit-learn's MLP stops), or any scikit-learn scorer name
        (``"roc_auc"``, ``"f1_macro"``, ``"neg_mean_absolute_error"``;
        ``sklearn.metrics.get_scorer_names()``), greater is better. The score
        is computed after every epoch on the held-out rows with
        ``early_stopping=True`` (recorded in ``history_["val_score"]``; the
        weights of the best-scoring epoch are restored), else on the training
        rows, like the loss (``history_["score"]``). The ``"plateau"``
        schedule still watches the loss. ``"score"`` is computed inside the
        compiled training loop; a scorer name trains through
        ``keras.Model.fit``, scoring ``predict``'s output after each epoch.
    random_state : int, RandomState instance or None, default=None
        Seeds the weights, the shuffling of every epoch, dropout and the
        validation split. The same integer gives identical predictions, in
        any process and in concurrent threads; a fit with an integer seed
        changes no global random generator. A ``RandomState`` instance gives
        the fit's seed from a copy: it is not advanced, so refits match.
        ``None`` draws the fit's seed from NumPy's global generator, as
        scikit-learn's estimators do.
    verbose : int, default=0
        ``> 0`` prints one line per epoch (loss, validation loss).
    warm_start : bool, default=False
        On the next ``fit``, continue training the fitted network instead of
        building a new one. Changed training parameters take effect (with a
        new optimizer); changing an architecture parameter raises.
    callbacks : list of keras callbacks, default=None
        Extra Keras callbacks, copied for each fit. With callbacks, training
        runs through ``keras.Model.fit`` one batch per step, so batch-level
        callbacks see every batch (slower than skdeep's compiled loop)."""

CLASS_WEIGHT_DOC = """
    class_weight : dict or "balanced", default=None
        Weight of each class, multiplied into ``sample_weight``:
        ``{label: weight}``, or ``"balanced"`` for weights inversely
        proportional to the class frequencies."""

LAYER_DOC = """
    activation : str or callable, default="relu"
        Activation of the hidden layers: any Keras activation (``"relu"``,
        ``"tanh"``, ``"gelu"``, ...).
    dropout : float, default=0.0
        Dropout rate after each hidden layer (training only).
    batch_norm : bool, default=False
        Batch normalisation before each hidden activation.
    l1 : float, default=0.0
        L1 penalty on every kernel.
    l2 : float, default=0.0
        L2 penalty on every kernel.
    kernel_initializer : str, default="glorot_uniform"
        Any Keras initializer name (``"he_normal"``, ...), seeded by
        ``random_state``."""

ARCH_DOC = """
    hidden_layer_sizes : sequence of int, default=(100,)
        Units of each hidden layer.""" + LAYER_DOC

ATTR_DOC = """
    model_ : keras.Model
        The trained network (compiled, with its optimizer's state).
    history_ : dict of str to list of float
        Per-epoch ``loss`` (and ``val_loss``, metrics; ``learning_rate``, the
        rate after each epoch, when ``lr_schedule`` is not ``"constant"``),
        over all calls of a warm start or ``partial_fit``.
    n_iter_ : int
        Epochs run, over all calls of a warm start or ``partial_fit``.
    n_features_in_ : int
        Number of features seen in ``fit``.
    feature_names_in_ : ndarray of str
        Feature names seen in ``fit``; only when X had string column names.
    n_outputs_ : int
        Outputs of the network's target (1 for binary and multiclass
        targets, the number of labels or target columns otherwise)."""

# Parameters of the generic wrappers (scikeras's API), formatted per class.
WRAPPER_DOC = """
    Parameters
    ----------
    model : keras.Model, callable or None, default=None
        The network, or a function returning it. A function may take any of
        ``meta`` (the fitted attributes: ``n_features_in_``, ``X_shape_``,
        ``X_dtype_``, ``y_dtype_``, ``y_ndim_``, ``target_type_``,
        ``n_outputs_``, ``n_outputs_expected_``, ``feature_encoder_``,
        ``target_encoder_``{cls_meta}), ``compile_kwargs`` (the built
        optimizer, loss and metrics), ``params`` (``get_params()``) and its
        own arguments, given as ``model__<name>=value`` or plain keyword
        arguments. A ``keras.Model`` is copied with its weights at each fit
        (``initialize`` then predicts with them); the object you passed is
        never changed. None: the subclass's ``_keras_build_fn`` builds it.
    build_fn : deprecated alias of ``model`` (warns).
    warm_start : bool, default=False
        Keep a fitted network's weights in ``fit`` (the epoch count restarts).
    random_state : int, RandomState or None, default=None
        Seeds the build and the shuffles; an int makes fits reproducible. No
        global generator is seeded or advanced.
    optimizer : str, class or instance, default="rmsprop"
        Any Keras optimizer name (any case), class or instance;
        ``optimizer__<name>`` routes arguments (nested: ``optimizer__
        learning_rate=ExponentialDecay, optimizer__learning_rate__...``).
    loss : str, class, instance, list or dict, default=None
        {loss_doc} ``loss__<name>`` routes arguments.
    metrics : str, list or dict, default=None
        Keras metrics; ``metrics__<i>__<name>`` routes arguments. History
        keys use full names (``mean_absolute_error``).
    batch_size : int or None, default=None
        Rows per batch in fit and predict; None means 32, -1 all rows in one
        batch (sparse X is then densified whole: n_samples x n_features
        floats, as in scikeras; give a batch size to keep memory per batch).
    validation_batch_size : int or None, default=None
    verbose : int, default=1
        Keras's progress output.
    callbacks : callback, class, list or dict, default=None
        Used in fit and predict; classes are built with ``callbacks__``
        arguments. ``fit__callbacks`` / ``predict__callbacks`` apply to one.
    validation_split : float, default=0.0
        Fraction of the last rows held out; adds ``val_`` keys to ``history_``.
    shuffle : bool, default=True
        Reshuffle the rows every epoch.
    run_eagerly : bool, default=False
    epochs : int, default=1
    input_columns : dict or None, default=None
        For a multi-input network: input name to the columns (names or
        positions) of X that feed it. X stays one table, so cross-validation
        and searches slice it as usual.{extra}
    **kwargs
        Routed parameters (``model__``, ``optimizer__``, ``loss__``,
        ``metrics__``, ``callbacks__``, ``fit__``, ``compile__``,
        ``predict__``, ``score__``) and build-function arguments.
"""
