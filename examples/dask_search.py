"""Run a search on a Dask cluster.

Here the cluster is two local worker processes; to use many machines, start
a scheduler (``dask scheduler``) and workers on each machine (``dask worker
tcp://SCHEDULER:8786 --nworkers 1 --nthreads 1``), install skdeep on all of
them, and pass the scheduler's address to ``Client``.

    python examples/dask_search.py [--fast] [--scheduler tcp://host:8786]
"""

import argparse

from sklearn.datasets import load_breast_cancer

from skdeep import MLPClassifier, make_tabular_pipeline, tune


def main(fast=False, scheduler=None):
    from distributed import Client, LocalCluster

    X, y = load_breast_cancer(return_X_y=True)
    pipe = make_tabular_pipeline(MLPClassifier(epochs=5 if fast else 100))
    space = {"model__hidden_layer_sizes": [(16,), (64,)],
             "model__learning_rate": [1e-3, 1e-2]}
    if scheduler:
        client, cluster = Client(scheduler), None
    else:
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1",
                               dashboard_address=None)
        client = Client(cluster)
    try:
        print("workers:", len(client.scheduler_info()["workers"]))
        search = tune(pipe, X, y, space=space, strategy="grid", cv=3,
                      scoring="roc_auc", random_state=0, backend="dask")
        print("best:", search.best_params_, f"ROC AUC {search.best_score_:.3f}")
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="small budget (tests)")
    parser.add_argument("--scheduler", help="address of a running Dask scheduler")
    args = parser.parse_args()
    main(fast=args.fast, scheduler=args.scheduler)
