"""Data sets that ship with the package, so every chapter runs offline and in Colab.

- :func:`load_youtube_spam`: the YouTube Spam Collection (Alberto, Lochter and Almeida, ICMLA 2015;
  CC BY 4.0, licence and attribution in ``dp_helpers/data/youtube_spam/LICENSE``), split as in
  Snorkel's spam tutorial so that the numbers compare.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources

import numpy as np
import pandas as pd

SPAM, HAM = 1, -1
_FILES = ("Youtube01-Psy.csv", "Youtube02-KatyPerry.csv", "Youtube03-LMFAO.csv",
          "Youtube04-Eminem.csv", "Youtube05-Shakira.csv")


@dataclass(frozen=True)
class YouTubeSpam:
    """The four splits of :func:`load_youtube_spam`, each a DataFrame.

    Columns: ``author``, ``date``, ``text`` (the comment), ``label`` (+1 spam, -1 ham) and
    ``video`` (1-5, the file the comment comes from).
    """

    train: pd.DataFrame
    dev: pd.DataFrame
    valid: pd.DataFrame
    test: pd.DataFrame


def _data_dir():
    return resources.files("dp_helpers") / "data" / "youtube_spam"


def _checksums() -> dict[str, str]:
    lines = (_data_dir() / "SHA256SUMS").read_text().split("\n")
    return {name: digest for digest, name in (line.split() for line in lines if line.strip())}


def load_youtube_spam(random_state: int = 123, dev_size: int = 100, test_size: int = 250) -> YouTubeSpam:
    """The YouTube Spam Collection, split as Snorkel's spam tutorial splits it.

    Videos 1-4 are ``train`` (1,586 comments; their labels are kept, so a label model's output on
    the training set can be scored); ``dev`` is ``dev_size`` comments sampled from ``train`` (they
    stay in ``train``, as in the tutorial); video 5 is split into ``valid`` and a test set of
    ``test_size`` comments stratified by label. Each video's comments are first shuffled with
    ``random_state``. With the defaults the splits are the tutorial's: 1,586 / 100 / 120 / 250.
    Nothing is downloaded: the CSV files are package data, checked against their SHA-256 sums.

    Parameters
    ----------
    random_state : int, default 123
        Seeds the shuffles, the dev sample and the valid/test split (123 is the tutorial's).
    dev_size : int, default 100
        Comments sampled from ``train`` for LF development, between 1 and 1,586.
    test_size : int, default 250
        Comments of video 5 in ``test``, between 2 and 368; the rest are ``valid``.

    Returns
    -------
    YouTubeSpam
        ``train``, ``dev``, ``valid``, ``test`` DataFrames; ``label`` is +1 for spam, -1 for ham.

    Raises
    ------
    ValueError
        If a size is out of range, or a data file does not match its checksum.

    Examples
    --------
    >>> data = load_youtube_spam()
    >>> [len(data.train), len(data.dev), len(data.valid), len(data.test)]
    [1586, 100, 120, 250]
    >>> sorted(data.test["label"].unique().tolist())
    [-1, 1]
    """
    from sklearn.model_selection import train_test_split

    if isinstance(random_state, bool) or not isinstance(random_state, (int, np.integer)):
        raise TypeError(f"random_state must be an int; got {type(random_state).__name__}")
    sums = _checksums()
    frames = []
    for video, name in enumerate(_FILES, start=1):
        raw = (_data_dir() / name).read_bytes()
        if hashlib.sha256(raw).hexdigest() != sums[name]:
            raise ValueError(f"{name} does not match its SHA-256 in SHA256SUMS: the package data is damaged; reinstall dp-helpers")
        with (_data_dir() / name).open("rb") as f:
            df = pd.read_csv(f)
        df.columns = [c.lower() for c in df.columns]
        df = df.drop(columns="comment_id").rename(columns={"content": "text", "class": "label"})
        df["label"] = np.where(df["label"] == 1, SPAM, HAM)
        df["video"] = video
        frames.append(df.sample(frac=1, random_state=random_state).reset_index(drop=True))
    train = pd.concat(frames[:4], ignore_index=True)
    _check_size(dev_size, "dev_size", 1, len(train))
    _check_size(test_size, "test_size", 2, len(frames[4]) - 2)
    dev = train.sample(dev_size, random_state=random_state)
    valid, test = train_test_split(frames[4], test_size=test_size, random_state=random_state,
                                   stratify=frames[4]["label"])
    return YouTubeSpam(train=train, dev=dev, valid=valid, test=test)


def _check_size(value, name: str, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not low <= value <= high:
        raise ValueError(f"{name} must be an int from {low} to {high}; got {value!r}")
