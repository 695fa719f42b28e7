"""Hyperparameter search.

- ``spaces``: default search spaces per family and strategy, and
  ``find_network`` (the network estimator inside a pipeline);
- ``tune``: ``tune`` (grid, random, halving, bayes; threads or Dask) and
  ``results_table``;
- ``bayes``: ``BayesSearchCV`` (Optuna's TPE behind scikit-learn's search API);
- ``store``: durable searches (``tune(..., store=PATH)``): every finished
  (candidate, split) fit recorded in an SQLite file and replayed on resume;
- ``progress``: the progress lines of a running search;
- ``tracking``, ``plotting``: MLflow logging and plots (optional extras).
"""

from skdeep.search.bayes import BayesSearchCV
from skdeep.search.progress import format_params
from skdeep.search.spaces import STRATEGIES, default_space, find_network
from skdeep.search.tune import results_table, tune

__all__ = ["STRATEGIES", "BayesSearchCV", "default_space", "find_network",
           "format_params", "results_table", "tune"]
