"""Scores the compiled loops compute in the graph, for early stopping.

The estimator's own score as ``predict`` and ``score`` compute it, from the
network's outputs and the target as the loss takes it, with sample weights:

- ``"accuracy"`` (binary and multiclass): the predicted class is the arg-max
  of the outputs, or, for one output unit, the probability above 0.5 (the
  logit above 0); labels are indices, one-hot rows or a 0/1 column;
- ``"multilabel_accuracy"``: a row is right when every label is (probability
  of at least 0.5), as ``accuracy_score`` counts multilabel rows;
- ``"r2"``: ``r2_score`` averaged over the outputs (1 - SSE/SST per output,
  SST about the weighted mean; a constant output scores 1 if predicted
  exactly, else 0). R² does not change when an output and its target are
  shifted and scaled alike, so a standardised target gives the same score.

Scores are sums over rows (so that a loop may add them up chunk by chunk)
turned into the score at the end. Written with ``keras.ops`` for the
backend's own loop (TensorFlow or JAX).
"""

__all__ = ["GRAPH_SCORES", "score_sums", "score_value"]

GRAPH_SCORES = ("accuracy", "multilabel_accuracy", "r2")


def score_sums(kind, y, pred, w, from_logits):
    """The sums of one batch that :func:`score_value` turns into a score."""
    from keras import ops

    pred = ops.cast(pred, "float32")
    w = ops.cast(w, "float32")
    if kind == "r2":
        y = ops.reshape(ops.cast(y, "float32"), ops.shape(pred))
        wc = w[:, None]
        return ops.concatenate([
            ops.sum(w, keepdims=True), ops.sum(wc * y, axis=0),
            ops.sum(wc * y * y, axis=0), ops.sum(wc * (y - pred) ** 2, axis=0)])
    threshold = 0.0 if from_logits else 0.5
    if kind == "multilabel_accuracy":
        right = ops.all(ops.equal(pred >= threshold, ops.cast(y, "float32") > 0.5),
                        axis=-1)
    elif pred.shape[-1] == 1:
        right = ops.equal(pred[:, 0] > threshold,
                          ops.reshape(ops.cast(y, "float32"), (-1,)) > 0.5)
    else:
        truth = (ops.argmax(y, axis=-1) if len(y.shape) == 2 and y.shape[-1] > 1
                 else ops.reshape(y, (-1,)))
        right = ops.equal(ops.cast(ops.argmax(pred, axis=-1), "int32"),
                          ops.cast(truth, "int32"))
    return ops.stack([ops.sum(w * ops.cast(right, "float32")), ops.sum(w)])


def score_value(kind, sums):
    """The score from the sums of every row."""
    from keras import ops

    if kind != "r2":
        return sums[0] / ops.maximum(sums[1], 1e-12)
    k = (sums.shape[0] - 1) // 3
    total, s1, s2, sse = sums[0], sums[1:1 + k], sums[1 + k:1 + 2 * k], sums[1 + 2 * k:]
    sst = s2 - s1 * s1 / ops.maximum(total, 1e-12)
    r2 = ops.where(sst > 0, 1.0 - sse / ops.where(sst > 0, sst, 1.0),
                   ops.where(sse == 0, 1.0, 0.0))
    return ops.mean(r2)
