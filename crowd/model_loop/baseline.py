"""The built-in baseline: a text classifier that needs no network, trained on a campaign's own labels.

TF-IDF over word unigrams and bigrams (sublinear term frequency) into a multinomial logistic regression, the
usual strong baseline for short-text classification (e.g. Wang & Manning 2012). Plain functions over lists of
texts and labels, no Django: the jobs around it live in baseline_jobs.py.

Accuracy is measured on a random held-out share (20% by default) of the labelled items, with the model fitted on
the rest; the model that labels the open items is then fitted on all of them.
"""

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline

HELD_OUT_SHARE = 0.2
TEXT_KEYS = ("text", "sentence", "content", "body", "title", "question")
# Where an image or other media lives, never its text: an image campaign's only string is its link, and a text
# model trained on links learns the file names.
MEDIA_KEYS = ("image", "image_url", "audio", "audio_url", "video", "video_url")
LINK_PREFIXES = ("http://", "https://", "data:", "s3://", "gs://", "file:")


@dataclass(frozen=True)
class Evaluation:
    trained_on: int
    held_out: int
    accuracy: float | None  # None when the held-out share is empty


def item_text(data: Any) -> str | None:
    """The text of an item's data: a common text key if there is one, else its first non-empty string value that is
    neither media nor a link."""
    if not isinstance(data, dict):
        return None
    for key in TEXT_KEYS:
        value = data.get(key)
        if isinstance(value, str) and value.strip():
            return value
    for key, value in data.items():
        if key in MEDIA_KEYS or str(key).endswith("_url") or not isinstance(value, str) or not value.strip():
            continue
        if not value.strip().lower().startswith(LINK_PREFIXES):
            return value
    return None


def fit(texts: Sequence[str], labels: Sequence[str]) -> Pipeline:
    """A fitted TF-IDF + logistic regression; needs at least two distinct labels (ValueError otherwise)."""
    if len(set(labels)) < 2:
        raise ValueError("The baseline needs at least two distinct labels to learn from.")
    words = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1, max_features=200_000)
    word_of = words.build_analyzer()
    if not any(word_of(text) for text in texts):
        # No word of two letters or more in any text (single letters, emoji, one CJK character each): the word
        # vectorizer would have no vocabulary at all, so these texts are read by their characters instead.
        words = TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3), sublinear_tf=True, max_features=200_000)
    model = make_pipeline(words, LogisticRegression(max_iter=1000, C=4.0))
    model.fit(list(texts), list(labels))
    return model


def split(
    n: int, *, share: float = HELD_OUT_SHARE, seed: int = 0, labels: Sequence[str] | None = None
) -> tuple[list[int], list[int]]:
    """(training indices, held-out indices): a seeded shuffle, `share` of n held out (at least one when n ≥ 5).
    With `labels`, one example of each label (its last in the shuffle) always stays in the training share: a label
    seen only in the held-out share would leave the model unable to fit, or to know that label."""
    order = list(range(n))
    random.Random(seed).shuffle(order)
    held = max(round(n * share), 1) if n >= 5 else 0
    kept = set({labels[i]: i for i in order}.values()) if labels is not None else set()
    held_out = [i for i in order if i not in kept][:held]
    chosen = set(held_out)
    return sorted(i for i in order if i not in chosen), sorted(held_out)


def evaluate(texts: Sequence[str], labels: Sequence[str], *, seed: int = 0) -> Evaluation:
    """Fit on the training share and score on the held-out share."""
    train, held = split(len(texts), seed=seed, labels=labels)
    model = fit([texts[i] for i in train], [labels[i] for i in train])
    if not held:
        return Evaluation(trained_on=len(train), held_out=0, accuracy=None)
    predicted = model.predict([texts[i] for i in held])
    correct = sum(1 for i, guess in zip(held, predicted, strict=True) if guess == labels[i])
    return Evaluation(trained_on=len(train), held_out=len(held), accuracy=correct / len(held))


def predict(model: Pipeline, texts: Sequence[str]) -> list[tuple[str, float]]:
    """(label, probability of that label) for each text."""
    if not texts:
        return []
    probabilities = model.predict_proba(list(texts))
    classes = list(model.classes_)
    best = probabilities.argmax(axis=1)
    return [(str(classes[j]), float(probabilities[i, j])) for i, j in enumerate(best)]
