"""The triage model itself, with no database: tokens, fitting, evaluating, predicting.

A description becomes words (``knowledge.search.tokens``: jieba for Chinese runs, English words
and model numbers as they are, the same words the knowledge base searches on), the words a
TF-IDF vector (unigrams and bigrams of words), and two linear classifiers (scikit-learn's
logistic regression, which gives a probability per class to show as the confidence) read it:
one for the service type, one for the priority. The skills come from the suggested service
type (catalog), not from the text.

``fit`` returns a ``Fitted``: the pipeline objects and their held-out evaluation. It is pickled
into the ``TriageModel`` row (triage/models.py) and read back by the web processes.
"""

from __future__ import annotations

import math
import random
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import numpy as np

from knowledge.search import tokens

# A class needs this many examples to be learned at all; rarer ones are left out of the model.
MIN_PER_CLASS = 3


def analyse(text: str) -> list[str]:
    """The words of ``text`` and the pairs of neighbouring words (TF-IDF's features)."""
    words = tokens(text or "")
    return words + [f"{a} {b}" for a, b in zip(words, words[1:])]


@dataclass
class Fitted:
    vectorizer: object
    type_model: object | None
    priority_model: object | None
    samples: int
    classes: list
    evaluation: dict = field(default_factory=dict)
    reader: "Reader | None" = None


def _classifier():
    from sklearn.linear_model import LogisticRegression

    # Balanced weights: a rare service type should still be suggested when its words appear.
    return LogisticRegression(C=10.0, max_iter=2000, class_weight="balanced")


def _vectorizer():
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(analyzer=analyse, sublinear_tf=True, min_df=1)


def split(rows: list[tuple], *, held_out: float, seed: int = 7) -> tuple[list, list]:
    """(training rows, held-out rows): ``held_out`` of each service type's rows, at least one of
    a type with two or more, so that every type learned is also tested."""
    by_type = defaultdict(list)
    for row in rows:
        by_type[row[1]].append(row)
    rng = random.Random(seed)
    train, test = [], []
    for label in sorted(by_type, key=str):
        group = by_type[label][:]
        rng.shuffle(group)
        n_test = min(len(group) - 1, max(1, round(len(group) * held_out))) if len(group) > 1 else 0
        test.extend(group[:n_test])
        train.extend(group[n_test:])
    return train, test


def fit(rows: list[tuple], *, held_out: float = 0.2, evaluate_on: list[tuple] | None = None) -> Fitted:
    """Learn from ``rows`` of (description, service type, priority).

    ``held_out`` of the rows are kept back to evaluate on (``evaluate_on`` instead, if given);
    the model kept is then fitted again on all rows, so nothing learned is wasted.
    """
    counts = Counter(row[1] for row in rows)
    rows = [row for row in rows if counts[row[1]] >= MIN_PER_CLASS]
    if evaluate_on is None:
        train, test = split(rows, held_out=held_out)
    else:
        train, test = rows, evaluate_on
    evaluation = evaluate(_fit(train), test) if test and train else {}
    fitted = _fit(rows)
    fitted.evaluation = evaluation
    return fitted


def _fit(rows: list[tuple]) -> Fitted:
    vectorizer = _vectorizer()
    texts = [row[0] for row in rows]
    matrix = vectorizer.fit_transform(texts)
    types = [row[1] for row in rows]
    priorities = [row[2] for row in rows]
    type_model = priority_model = None
    if len(set(types)) >= 2:
        type_model = _classifier().fit(matrix, types)
    if len(set(priorities)) >= 2:
        priority_model = _classifier().fit(matrix, priorities)
    fitted = Fitted(vectorizer, type_model, priority_model, samples=len(rows), classes=sorted(set(types), key=str))
    fitted.reader = Reader(fitted)
    return fitted


@dataclass(frozen=True)
class Prediction:
    types: list  # [(service type, probability)], most likely first, at most 3
    priority: object | None
    priority_confidence: float


class Linear:
    """One fitted classifier's parameters as plain arrays: its classes, weights and intercepts."""

    def __init__(self, model):
        self.classes = [c.item() if hasattr(c, "item") else c for c in model.classes_]
        self.coef = np.ascontiguousarray(model.coef_.T)  # features x classes (one column if binary)
        self.intercept = np.asarray(model.intercept_)

    def proba(self, idx, values) -> np.ndarray:
        scores = values @ self.coef[idx] + self.intercept
        if len(self.classes) == 2:  # binary: one score, the second class's log-odds
            p = 1.0 / (1.0 + math.exp(-float(scores[0])))
            return np.array([1.0 - p, p])
        scores = np.exp(scores - scores.max())
        return scores / scores.sum()


class Reader:
    """The fitted pipeline, for one description at a time.

    scikit-learn's ``transform`` and ``predict_proba`` check and convert their input on every
    call, which costs milliseconds for a single short text; the arithmetic itself is a few dozen
    multiplications. This does the same arithmetic (sublinear TF times IDF, L2 norm, then the
    linear scores through softmax, or the logistic function for two classes) on the fitted
    parameters; ``tests/triage`` checks that it gives scikit-learn's probabilities.
    """

    def __init__(self, fitted: "Fitted"):
        self.vocabulary = dict(fitted.vectorizer.vocabulary_)
        self.idf = np.asarray(fitted.vectorizer.idf_)
        self.types = Linear(fitted.type_model) if fitted.type_model is not None else None
        self.priorities = Linear(fitted.priority_model) if fitted.priority_model is not None else None

    def features(self, text: str):
        counts = Counter(t for t in analyse(text) if t in self.vocabulary)
        if not counts:
            return None, None
        idx = np.fromiter((self.vocabulary[t] for t in counts), dtype=np.intp, count=len(counts))
        values = np.fromiter((1.0 + math.log(n) for n in counts.values()), dtype=float, count=len(counts))
        values *= self.idf[idx]
        values /= math.sqrt(float(values @ values))
        return idx, values

    def predict(self, text: str) -> Prediction:
        idx, values = self.features(text)
        if idx is None:  # no word the model knows: nothing to go on
            return Prediction(types=[], priority=None, priority_confidence=0.0)
        types: list = []
        if self.types is not None:
            probs = self.types.proba(idx, values)
            order = probs.argsort()[::-1][:3]
            types = [(self.types.classes[i], float(probs[i])) for i in order]
        priority, confidence = None, 0.0
        if self.priorities is not None:
            probs = self.priorities.proba(idx, values)
            best = int(probs.argmax())
            priority, confidence = self.priorities.classes[best], float(probs[best])
        return Prediction(types=types, priority=priority, priority_confidence=confidence)


def predict(fitted: Fitted, text: str) -> Prediction:
    return fitted.reader.predict(text)


def predict_sklearn(fitted: Fitted, text: str) -> Prediction:
    """The same as ``predict`` through scikit-learn's own calls (slower; for checking)."""
    vector = fitted.vectorizer.transform([text])
    types: list = []
    if vector.nnz == 0:
        return Prediction(types=[], priority=None, priority_confidence=0.0)
    if fitted.type_model is not None:
        probs = fitted.type_model.predict_proba(vector)[0]
        order = probs.argsort()[::-1][:3]
        types = [(fitted.type_model.classes_[i].item(), float(probs[i])) for i in order]
    priority, confidence = None, 0.0
    if fitted.priority_model is not None:
        probs = fitted.priority_model.predict_proba(vector)[0]
        best = int(probs.argmax())
        priority, confidence = fitted.priority_model.classes_[best].item(), float(probs[best])
    return Prediction(types=types, priority=priority, priority_confidence=confidence)


def evaluate(fitted: Fitted, rows: list[tuple]) -> dict:
    """Top-1 and top-3 accuracy of the service type, per class and overall, and the priority's
    top-1 accuracy, on ``rows``; with the mean prediction time in milliseconds."""
    per_class: dict = defaultdict(lambda: {"n": 0, "top1": 0, "top3": 0})
    priority_hits = 0
    started = time.perf_counter()
    for text, label, priority in rows:
        prediction = predict(fitted, text)
        labels = [t for t, _p in prediction.types]
        stats = per_class[label]
        stats["n"] += 1
        stats["top1"] += bool(labels) and labels[0] == label
        stats["top3"] += label in labels
        priority_hits += prediction.priority == priority
    elapsed = time.perf_counter() - started
    n = len(rows)
    classes = {
        str(label): {"n": s["n"], "top1": round(s["top1"] / s["n"], 4), "top3": round(s["top3"] / s["n"], 4)}
        for label, s in sorted(per_class.items(), key=lambda item: str(item[0]))
    }
    return {
        "n": n,
        "top1": round(sum(s["top1"] for s in per_class.values()) / n, 4) if n else 0.0,
        "top3": round(sum(s["top3"] for s in per_class.values()) / n, 4) if n else 0.0,
        "priority_top1": round(priority_hits / n, 4) if n else 0.0,
        "ms_per_prediction": round(elapsed * 1000 / n, 3) if n else 0.0,
        "classes": classes,
    }


def dumps(fitted: Fitted) -> bytes:
    import pickle

    return pickle.dumps(fitted, protocol=pickle.HIGHEST_PROTOCOL)


def loads(blob: bytes) -> Fitted:
    # The bytes were written by ``dumps`` into our own database (triage.services.triage_train);
    # nothing from a request or an upload is ever unpickled.
    import pickle

    return pickle.loads(blob)
