"""Classify raw text where word order matters ("not good"), against TF-IDF.

``TextClassifier`` takes the strings themselves, learns its vocabulary in
``fit`` (saved with the estimator) and reads them with a bag of word
vectors (``encoder="pooling"``), a 1-D convolution over neighbouring words
(``"conv1d"``) or a GRU. A TF-IDF + logistic regression baseline cannot tell
"it was not good" from "it was good, not bad". Here the encoder is chosen by
a grid search on a DataFrame column inside a pipeline.

    python examples/text_negation.py [--fast]
"""

import argparse
import operator

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer

from skdeep import TextClassifier, results_table

FILLER = ("the a this that it was is movie film plot story acting really quite "
          "very and of").split()
POSITIVE = "good great fine nice excellent wonderful".split()
NEGATIVE = "bad awful poor boring terrible dull".split()


def reviews(n, seed=0):
    rng = np.random.RandomState(seed)
    y = rng.randint(0, 2, n)
    texts = []
    for label in y:
        negated = rng.rand() < 0.5
        adjective = rng.choice(POSITIVE if bool(label) != negated else NEGATIVE)
        words = [*rng.choice(FILLER, rng.randint(1, 5)),
                 *(["not"] if negated else []), adjective,
                 *rng.choice(FILLER, rng.randint(0, 4))]
        texts.append(" ".join(words))
    return pd.DataFrame({"review": texts, "length": [len(t) for t in texts]}), y


def main(fast=False):
    train, y = reviews(400 if fast else 1500)
    test, y_test = reviews(1000, seed=1)
    pipe = Pipeline([
        ("select", FunctionTransformer(operator.itemgetter("review"))),
        ("text", TextClassifier(sequence_length=16, embedding_dim=16,
                                encoder_units=16, learning_rate=0.01,
                                epochs=3 if fast else 40, random_state=0)),
    ])
    grid = {"text__encoder": ["pooling", "conv1d"] if fast
            else ["pooling", "conv1d", "gru"]}
    search = GridSearchCV(pipe, grid, cv=3).fit(train, y)
    print(results_table(search).to_string())
    tfidf = make_pipeline(TfidfVectorizer(), LogisticRegression(max_iter=1000))
    baseline = tfidf.fit(train["review"], y).score(test["review"], y_test)
    print(f"test accuracy: TextClassifier {search.score(test, y_test):.3f}, "
          f"TF-IDF + logistic regression {baseline:.3f}")
    model = search.best_estimator_
    for text in ["it was not good", "the plot was good", "not bad at all, zebra"]:
        label = model.predict(pd.DataFrame({"review": [text], "length": [0]}))[0]
        print(f"{text!r}: {'positive' if label else 'negative'}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="small budget (tests)")
    main(fast=parser.parse_args().fast)
