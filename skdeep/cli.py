"""The ``skdeep`` command: tune, predict and inspect models from a shell.

Uses only skdeep's public API. Heavy libraries (TensorFlow, Keras, even
scikit-learn) are imported inside the commands, so ``skdeep --help`` is
instant. Errors print one line and exit non-zero; ``--debug`` shows the
traceback.
"""

import argparse
import json
import os
import sys

__all__ = ["main"]

_MODELS = ("mlp",)
_EXPORT_FORMATS = ("onnx", "keras", "saved_model", "tflite")


class CLIError(Exception):
    """An error to show the user as one line."""


def _parser():
    parser = argparse.ArgumentParser(
        prog="skdeep",
        description="Tune Keras networks with scikit-learn's searches, from a shell.",
    )
    parser.add_argument("--debug", action="store_true",
                        help="show full tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    tune = sub.add_parser(
        "tune", help="tune a network on a CSV or Parquet file (or --demo) and save "
        "the best",
        description="Read DATA (a CSV file, a Parquet file or a folder of Parquet "
        "files), build a cleaning + scaling pipeline around the network, search "
        "its hyperparameters by cross-validation, print the results, and save "
        "the best pipeline. The search runs in memory: for data larger than "
        "memory, tune on a random sample of it (--sample N, read chunk by "
        "chunk), then refit the best pipeline on all of it in Python.")
    tune.add_argument("data", nargs="?", metavar="DATA",
                      help="a .csv file, a .parquet file or a folder of .parquet "
                      "files (Parquet needs pip install 'skdeep[parquet]')")
    tune.add_argument("--sample", type=int, metavar="N",
                      help="tune on a uniform random sample of N rows (seeded by "
                      "--random-state), drawn while reading the data in chunks, "
                      "so the whole file is never in memory")
    tune.add_argument("--target", metavar="COL", help="name of the target column")
    tune.add_argument("--demo", action="store_true",
                      help="tune on scikit-learn's breast-cancer data (no download)")
    tune.add_argument("--model", choices=_MODELS, default="mlp")
    tune.add_argument("--task", choices=("auto", "classification", "regression"),
                      default="auto", help="default: guessed from the target column")
    tune.add_argument("--strategy", choices=("random", "grid", "halving", "bayes"),
                      default="random",
                      help="bayes: Optuna's TPE, needs pip install 'skdeep[optuna]'")
    tune.add_argument("--pruner", choices=("none", "median", "halving"),
                      default="none",
                      help="with --strategy bayes: stop candidates whose validation "
                      "loss is clearly worse than earlier ones' (default none)")
    tune.add_argument("--n-iter", type=int, default=10, metavar="N",
                      help="candidates for random/halving/bayes search (default 10)")
    tune.add_argument("--cv", type=int, default=3, metavar="K",
                      help="cross-validation folds (default 3)")
    tune.add_argument("--scoring", metavar="S", help="a scikit-learn scoring name")
    tune.add_argument("--n-jobs", type=int, default=1, metavar="J")
    tune.add_argument("--epochs", type=int, default=100,
                      help="maximum epochs per fit (default 100)")
    tune.add_argument("--space", metavar="space.json",
                      help="search space: JSON object of parameter -> list, or "
                      '{"loguniform": [low, high]} / {"uniform": [low, high]}')
    tune.add_argument("--random-state", type=int, default=0)
    tune.add_argument("--store", metavar="PATH",
                      help="record every finished fit in this file (SQLite, e.g. "
                      "runs/search.db); run the same command again after a crash "
                      "or kill to resume where it stopped")
    tune.add_argument("--out", default="model.skdeep", metavar="PATH",
                      help="where to save the best pipeline (default model.skdeep)")
    tune.add_argument("--quiet", action="store_true", help="no progress lines")

    predict = sub.add_parser(
        "predict", help="predict with a saved model or an exported .onnx file",
        description="Predict with a model saved by 'skdeep tune' / skdeep.save, "
        "or with an ONNX file written by 'skdeep export' (run by onnxruntime "
        "alone: TensorFlow and Keras are not imported).")
    predict.add_argument("model", metavar="MODEL")
    predict.add_argument("data", metavar="DATA",
                         help="a .csv file, a .parquet file or a folder of "
                         ".parquet files; Parquet is read and predicted chunk "
                         "by chunk (never whole)")
    predict.add_argument("--proba", action="store_true",
                         help="also write each class's probability, after the "
                         "predicted label")
    predict.add_argument("--out", metavar="preds.csv",
                         help="write a CSV here, or Parquet if the name ends in "
                         ".parquet (default: CSV on standard output); written "
                         "chunk by chunk")
    predict.add_argument("--chunk-size", type=int, default=65536, metavar="ROWS",
                         help="rows read and predicted at a time from Parquet "
                         "(default 65536)")

    export = sub.add_parser(
        "export", help="export a saved model to ONNX or a Keras format",
        description="ONNX: the whole pipeline (preprocessing + network) as one "
        "graph that onnxruntime runs without TensorFlow. keras / saved_model / "
        "tflite: the network alone, in Keras's own formats.")
    export.add_argument("model", metavar="MODEL")
    export.add_argument("--format", choices=_EXPORT_FORMATS, default="onnx",
                        help="default: onnx")
    export.add_argument("--quantize", choices=("int8", "int8-weights"),
                        help="int8: dynamic int8 quantization; int8-weights: "
                        "int8 weights only, closer to float32 (ONNX only)")
    export.add_argument("--opset", type=int, metavar="N",
                        help="ONNX opset (default 17)")
    export.add_argument("--out", required=True, metavar="FILE",
                        help="file (a directory for saved_model) to write")

    info = sub.add_parser("info", help="show a saved model's metadata")
    info.add_argument("model", metavar="MODEL")
    return parser


def _read_csv(path):
    import pandas as pd

    if not os.path.exists(path):
        raise CLIError(f"data file not found: {path}")
    try:
        frame = pd.read_csv(path)
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise CLIError(f"cannot read {path} as CSV: {str(exc).splitlines()[0]}") \
            from exc
    if frame.empty or frame.shape[1] == 0:
        raise CLIError(f"{path} has no rows or no columns")
    return frame


# ------------------------------------------------------------------ Parquet
_PARQUET = (".parquet", ".pq")


def _is_parquet(path):
    return os.path.isdir(path) or path.lower().endswith(_PARQUET)


def _pyarrow_parquet():
    try:
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise CLIError("reading or writing Parquet needs pyarrow, which is not "
                       "installed: pip install 'skdeep[parquet]'") from exc
    return pq


def _parquet_files(path):
    """The Parquet files of ``path`` (a file, or a folder read recursively, in
    sorted order, as Dask and pandas read a partitioned dataset)."""
    if not os.path.exists(path):
        raise CLIError(f"data file not found: {path}")
    if not os.path.isdir(path):
        return [path]
    files = sorted(os.path.join(root, name) for root, _, names in os.walk(path)
                   for name in names if name.lower().endswith(_PARQUET))
    if not files:
        raise CLIError(f"{path} is a folder with no .parquet files")
    return files


def _parquet_chunks(path, rows):
    """DataFrames of at most ``rows`` rows, file by file, row group by row
    group (``pyarrow.parquet.ParquetFile.iter_batches``): one in memory at a
    time."""
    pq = _pyarrow_parquet()
    import pyarrow as pa

    columns = None
    for name in _parquet_files(path):
        try:
            source = pq.ParquetFile(name)
        except (pa.ArrowInvalid, OSError) as exc:
            raise CLIError(f"cannot read {name} as Parquet: "
                           f"{str(exc).splitlines()[0]}") from exc
        if columns is None:
            columns = source.schema_arrow.names
        elif source.schema_arrow.names != columns:
            raise CLIError(f"{name} has columns {source.schema_arrow.names}, but "
                           f"the first file has {columns}: the files of a folder "
                           "must share their columns")
        for batch in source.iter_batches(batch_size=max(1, rows)):
            yield batch.to_pandas()


def _chunks(path, rows):
    """The data file as DataFrames of at most ``rows`` rows."""
    if _is_parquet(path):
        yield from _parquet_chunks(path, rows)
        return
    import pandas as pd

    if not os.path.exists(path):
        raise CLIError(f"data file not found: {path}")
    try:
        yield from pd.read_csv(path, chunksize=max(1, rows))
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise CLIError(f"cannot read {path} as CSV: {str(exc).splitlines()[0]}") \
            from exc


def _read_data(path, sample=None, seed=0):
    """The whole table (tune), or a uniform random sample of ``sample`` rows
    drawn chunk by chunk: each row gets a random key and the ``sample``
    smallest keys are kept, so memory holds the sample and one chunk."""
    import numpy as np
    import pandas as pd

    if sample is None:
        if not _is_parquet(path):
            return _read_csv(path)
        frames = list(_parquet_chunks(path, 1 << 20))
        frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    else:
        if sample < 1:
            raise CLIError(f"--sample must be a positive number of rows; got "
                           f"{sample}")
        rng = np.random.default_rng(seed)
        kept, keys = None, np.empty(0)
        for chunk in _chunks(path, 1 << 16):
            chunk_keys = rng.random(len(chunk))
            kept = chunk if kept is None else pd.concat([kept, chunk],
                                                        ignore_index=True)
            keys = np.concatenate([keys, chunk_keys])
            if len(kept) > sample:
                best = np.sort(np.argpartition(keys, sample)[:sample])
                kept, keys = kept.iloc[best].reset_index(drop=True), keys[best]
        frame = kept if kept is not None else pd.DataFrame()
    if frame.empty or frame.shape[1] == 0:
        raise CLIError(f"{path} has no rows or no columns")
    return frame


class _Writer:
    """Predictions written chunk by chunk: CSV (header once, then appended)
    to a file or standard output, or Parquet through one ``ParquetWriter``
    when ``path`` ends in .parquet."""

    def __init__(self, path):
        self.path, self.rows, self.chunks, self._parquet = path, 0, 0, None

    def write(self, frame):
        if self.path and self.path.lower().endswith(_PARQUET):
            import pyarrow as pa

            table = pa.Table.from_pandas(frame, preserve_index=False)
            if self._parquet is None:
                self._parquet = _pyarrow_parquet().ParquetWriter(self.path,
                                                                 table.schema)
            self._parquet.write_table(table)
        else:
            first = self.chunks == 0
            frame.to_csv(self.path or sys.stdout, index=False, header=first,
                         mode="w" if first else "a")
        self.rows += len(frame)
        self.chunks += 1

    def close(self):
        if self._parquet is not None:
            self._parquet.close()


def _demo_data():
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer(as_frame=True)
    frame = data.frame.copy()
    frame["target"] = frame["target"].map({0: "malignant", 1: "benign"})
    return frame, "target"


def _is_regression(y, task):
    import pandas as pd

    if task != "auto":
        return task == "regression"
    numeric = pd.api.types.is_float_dtype(y) or (
        pd.api.types.is_integer_dtype(y) and y.nunique() > 20)
    return bool(numeric)


def _load_space(path):
    from scipy.stats import loguniform, uniform

    try:
        with open(path) as fh:
            raw = json.load(fh)
    except FileNotFoundError as exc:
        raise CLIError(f"space file not found: {path}") from exc
    except ValueError as exc:
        raise CLIError(f"space file {path} is not valid JSON: {exc}") from exc
    if not isinstance(raw, dict) or not raw:
        raise CLIError(f"space file {path} must hold a non-empty JSON object")
    space = {}
    for name, values in raw.items():
        key = name if name.startswith("model__") or "__" in name else f"model__{name}"
        if isinstance(values, dict) and len(values) == 1:
            (kind, bounds), = values.items()
            if kind == "loguniform":
                values = loguniform(*bounds)
            elif kind == "uniform":
                values = uniform(bounds[0], bounds[1] - bounds[0])
            else:
                raise CLIError(f"space: unknown distribution {kind!r} for {name}; "
                               "use loguniform or uniform")
        elif not isinstance(values, list) or not values:
            raise CLIError(f"space: {name} must be a non-empty list or a "
                           "distribution object")
        else:
            values = [tuple(v) if isinstance(v, list) else v for v in values]
        space[key] = values
    return space


def _plain(value):
    """NumPy scalars as plain Python numbers, for printing."""
    return value.item() if hasattr(value, "item") and not isinstance(
        value, (list, tuple)) else value


def _store(path):
    """``--store``: its folder is created, as ``--out`` users expect of runs/."""
    if path is None:
        return None
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    return path


def _cmd_tune(args):
    if args.demo:
        frame, target = _demo_data()
        source = "scikit-learn's breast-cancer data"
    else:
        if not args.data:
            raise CLIError("give a DATA file (CSV or Parquet) and --target COL, or "
                           "use --demo")
        if not args.target:
            raise CLIError("--target COL is required with a data file")
        frame = _read_data(args.data, args.sample, args.random_state)
        target = args.target
        source = args.data if args.sample is None else (
            f"a random sample of {len(frame)} rows of {args.data}")
    if target not in frame.columns:
        raise CLIError(f"target column {target!r} not in the data; columns are: "
                       f"{', '.join(map(str, frame.columns[:20]))}")
    frame = frame[frame[target].notna()]
    X, y = frame.drop(columns=[target]), frame[target]
    if args.pruner != "none" and args.strategy != "bayes":
        raise CLIError(f"--pruner {args.pruner} needs --strategy bayes "
                       f"(got --strategy {args.strategy})")

    import skdeep
    from skdeep import MLPClassifier, MLPRegressor, make_tabular_pipeline
    from skdeep.search import default_space

    regression = _is_regression(y, args.task)
    network = (MLPRegressor if regression else MLPClassifier)(
        epochs=args.epochs, random_state=args.random_state)
    pipe = make_tabular_pipeline(network)
    space = _load_space(args.space) if args.space else default_space(
        pipe, strategy=args.strategy)
    print(f"Tuning {type(network).__name__} on {source}: {X.shape[0]} rows, "
          f"{X.shape[1]} columns, target {target!r} "
          f"({'regression' if regression else 'classification'}); "
          f"{args.strategy} search, {args.cv}-fold CV.", flush=True)
    search = skdeep.tune(
        pipe, X, y, space=space, strategy=args.strategy, n_iter=args.n_iter,
        cv=args.cv, scoring=args.scoring, n_jobs=args.n_jobs,
        random_state=args.random_state, verbose=0 if args.quiet else 1,
        pruner=None if args.pruner == "none" else args.pruner,
        store=_store(args.store))
    table = skdeep.results_table(search)
    import pandas as pd

    if "pruned" in table:
        print(f"\nPruned {int(table['pruned'].sum())} of {len(table)} candidates "
              "early (their scores are NaN).")
    with pd.option_context("display.width", 160, "display.max_columns", 20,
                           "display.max_colwidth", 30):
        print("\nTop candidates:")
        print(table.head(5).to_string(index=False))
    best = {k: _plain(v) for k, v in search.best_params_.items()}
    print("\nBest parameters:")
    for key, value in best.items():
        print(f"  {key} = {value!r}")
    print(f"Best CV score ({args.scoring or 'default'}): {search.best_score_:.4f}")
    skdeep.save(search.best_estimator_, args.out,
                extra={"target": target,
                       "best_params": {k: repr(v) for k, v in best.items()},
                       "cv_score": float(search.best_score_),
                       "scoring": args.scoring, "source": source})
    print(f"Saved the best pipeline to {args.out}")
    return 0


def _cmd_predict(args):
    import pandas as pd

    if args.chunk_size < 1:
        raise CLIError(f"--chunk-size must be a positive number of rows; got "
                       f"{args.chunk_size}")
    if args.model.endswith(".onnx"):
        model = _load_onnx(args.model)
        columns = model.input_columns
        expected = (columns[0].get("columns") if columns[0]["type"] == "matrix"
                    else [c["name"] for c in columns])
        target = None
    else:
        metadata = _read_metadata(args.model)
        target = metadata.get("extra", {}).get("target")
        expected = metadata.get("feature_names")
        model = None
    # CSV is read whole (pandas infers its column types from all rows);
    # Parquet, typed by its schema, chunk by chunk
    chunks = (_parquet_chunks(args.data, args.chunk_size) if _is_parquet(args.data)
              else iter([_read_csv(args.data)]))
    writer = _Writer(args.out)
    try:
        for frame in chunks:
            if target in frame.columns:
                frame = frame.drop(columns=[target])
            if expected is not None:
                # a wrong file fails in a second, before TensorFlow is imported
                frame = _model_columns(frame, list(expected), args.data)
            if model is None:
                model, _ = _load_model(args.model)
                names = getattr(model, "feature_names_in_", None)
                if names is not None:
                    expected = list(names)
                    frame = _model_columns(frame, expected, args.data)
            if args.proba and not hasattr(model, "predict_proba"):
                raise CLIError("--proba needs a classifier; this model is a "
                               "regressor")
            out = pd.DataFrame({"prediction": model.predict(frame)})
            if args.proba:
                proba = model.predict_proba(frame)
                classes = model.classes_ if hasattr(model, "classes_") else range(
                    proba.shape[1])
                for i, c in enumerate(classes):
                    out[f"proba_{c}"] = proba[:, i]
            writer.write(out)
    finally:
        writer.close()
    if writer.chunks == 0:
        raise CLIError(f"{args.data} has no rows")
    if args.out:
        print(f"Wrote {writer.rows} predictions to {args.out}"
              + (f" in {writer.chunks} chunks" if writer.chunks > 1 else ""))
    return 0


def _model_columns(frame, expected, path):
    """The columns the model was trained on, in its order; columns it does not
    know (an id, the target) are left out. Missing ones are an error that
    names them and the unknown ones (often the same, renamed)."""
    names = [str(c) for c in frame.columns]
    frame.columns = names
    missing = [c for c in expected if c not in names]
    if missing:
        unknown = [c for c in names if c not in expected]
        hint = (f"; it has columns the model does not know: {unknown}. Rename or "
                "add them." if unknown else ". Add them.")
        raise CLIError(f"{path} lacks columns the model was trained on: "
                       f"{missing}{hint}")
    return frame[expected]


def _load_onnx(path):
    """An exported ONNX file, opened with onnxruntime only (no TensorFlow)."""
    from skdeep.deploy.onnx_runtime import load_onnx

    if not os.path.exists(path):
        raise CLIError(f"model file not found: {path}")
    try:
        return load_onnx(path)
    except ImportError as exc:
        raise CLIError(str(exc)) from exc
    except Exception as exc:
        if type(exc).__name__ in ("InvalidProtobuf", "Fail", "InvalidGraph"):
            raise CLIError(f"{path} is not a valid ONNX file: "
                           f"{str(exc).splitlines()[0]}") from exc
        raise


def _cmd_export(args):
    if args.quantize and args.format != "onnx":
        raise CLIError(f"--quantize applies to --format onnx only; got --format "
                       f"{args.format}")
    if args.opset is not None and args.format != "onnx":
        raise CLIError("--opset applies to --format onnx only")
    model, _ = _load_model(args.model)
    from skdeep.deploy import export

    try:
        if args.format == "onnx":
            export.export_onnx(model, args.out, quantize=args.quantize,
                               opset=args.opset)
        else:
            export.export_network(model, args.out, format=args.format)
    except ImportError as exc:
        raise CLIError(str(exc)) from exc
    what = "model and preprocessing" if args.format == "onnx" else "network"
    size = _size(args.out)
    print(f"Exported the {what} to {args.out} ({args.format}"
          f"{', ' + args.quantize if args.quantize else ''}, {size / 1024:.1f} KiB)")
    return 0


def _size(path):
    if os.path.isdir(path):
        return sum(os.path.getsize(os.path.join(root, name))
                   for root, _, names in os.walk(path) for name in names)
    return os.path.getsize(path)


def _read_metadata(path):
    """A skdeep file's metadata, without loading its model (nor TensorFlow)."""
    from skdeep.deploy.persistence import read_metadata
    from skdeep.exceptions import IntegrityError

    if not os.path.exists(path):
        raise CLIError(f"model file not found: {path}")
    try:
        return read_metadata(path)
    except IntegrityError as exc:
        raise CLIError(str(exc)) from exc


def _load_model(path):
    import skdeep
    from skdeep.exceptions import IntegrityError

    metadata = _read_metadata(path)
    try:
        return skdeep.load(path), metadata
    except IntegrityError as exc:
        raise CLIError(str(exc)) from exc


def _cmd_info(args):
    meta = _read_metadata(args.model)
    extra = meta.get("extra", {})
    print(f"file:       {args.model}")
    print(f"type:       {meta.get('type')} ({meta.get('estimator')})")
    print(f"saved at:   {meta.get('saved_at')}")
    print("versions:   " + ", ".join(f"{k} {v}" for k, v in meta["versions"].items()))
    if "target" in extra:
        print(f"target:     {extra['target']}")
    if "classes" in meta:
        print(f"classes:    {', '.join(meta['classes'])}")
    if "cv_score" in extra:
        scoring = extra.get("scoring") or "default"
        print(f"CV score:   {extra['cv_score']:.4f} ({scoring})")
    params = extra.get("best_params") or meta.get("best_params") or {}
    if params:
        print("best parameters:")
        for key, value in params.items():
            print(f"  {key} = {value}")
    return 0


def main(argv=None):
    """Entry point of the ``skdeep`` command; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    command = {"tune": _cmd_tune, "predict": _cmd_predict, "info": _cmd_info,
               "export": _cmd_export}
    try:
        return command[args.command](args)
    except CLIError as exc:
        print(f"skdeep: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("skdeep: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # one clear line, never a traceback
        if args.debug:
            raise
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        print(f"skdeep: error: {type(exc).__name__}: {message} "
              "(run with --debug for details)", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
