"""Pretrained meaning: static embeddings read from the installed wordllama package, offline."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from screener.errors import ScreenerError
from screener.ranking import Ranker, RankerConfig, embeddings
from screener.ranking.embeddings import MODELS, StaticEmbedder, package_folder

HAVE_WORDLLAMA = package_folder("wordllama") is not None
needs_wordllama = pytest.mark.skipif(not HAVE_WORDLLAMA, reason="the wordllama package is not installed")


@needs_wordllama
def test_the_weights_load_from_the_wheel_with_no_network_and_without_importing_the_package():
    # A fresh interpreter with every socket refused: loading and embedding must not need one,
    # and neither wordllama's own loader nor huggingface_hub may be imported on the way.
    code = textwrap.dedent(
        """
        import socket, sys
        def refused(*args, **kwargs):
            raise AssertionError("the network was reached")
        socket.socket = refused
        socket.create_connection = refused
        from screener.ranking.embeddings import StaticEmbedder
        embedder = StaticEmbedder()
        rows = embedder.embed([
            "hepatectomy for colorectal liver metastases",
            "liver resection in patients with hepatic metastases of colon cancer",
            "dog training with positive reinforcement",
            "",
        ])
        assert rows.shape == (4, 256), rows.shape
        assert not rows[3].any()  # no token: zeros, not NaN
        same, other = float(rows[0] @ rows[1]), float(rows[0] @ rows[2])
        assert same > other + 0.3, (same, other)
        loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("wordllama", "huggingface_hub"))
        assert not loaded, loaded
        print("ok")
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


@needs_wordllama
def test_rows_are_unit_length_and_the_same_in_any_batch():
    embedder = StaticEmbedder()
    texts = [f"record {k} about liver surgery and outcomes" for k in range(5000)]
    rows = embedder.embed(texts)
    assert np.allclose(np.linalg.norm(rows, axis=1), 1.0, atol=1e-5)
    assert np.allclose(embedder.embed(texts[4095:4097]), rows[4095:4097], atol=1e-6)  # across a batch edge


def _copy_of_the_package(tmp_path: Path) -> Path:
    folder = tmp_path / "wordllama"
    model = MODELS["wordllama"]
    for relative in (model.weights, model.tokenizer):
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(package_folder("wordllama") / relative, folder / relative)
    return folder


@needs_wordllama
@pytest.mark.parametrize(
    "damage",
    ["missing", "cut", "empty", "header", "tokenizer missing", "tokenizer garbled"],
)
def test_missing_or_damaged_weights_are_one_clear_error_naming_the_package(tmp_path, monkeypatch, damage):
    folder = _copy_of_the_package(tmp_path)
    model = MODELS["wordllama"]
    weights, tokenizer = folder / model.weights, folder / model.tokenizer
    if damage == "missing":
        weights.unlink()
    elif damage == "cut":
        weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    elif damage == "empty":
        weights.write_bytes(b"")
    elif damage == "header":
        weights.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all" + b"\0" * 64)
    elif damage == "tokenizer missing":
        tokenizer.unlink()
    else:
        tokenizer.write_text("{ this is not a tokenizer")
    monkeypatch.setattr(embeddings, "package_folder", lambda package: folder)
    with pytest.raises(ScreenerError) as caught:
        StaticEmbedder()
    message = str(caught.value)
    assert "wordllama" in message and "\n" not in message
    assert "pip install --force-reinstall wordllama==" in caught.value.hint


def test_a_missing_package_says_what_to_install(monkeypatch):
    monkeypatch.setattr(embeddings, "package_folder", lambda package: None)
    with pytest.raises(ScreenerError) as caught:
        StaticEmbedder()
    assert "wordllama" in str(caught.value) and caught.value.hint == "pip install wordllama"


@needs_wordllama
def test_the_model_of_meaning_takes_turns_and_ranks_by_meaning(tmp_path):
    # Relevant records say "hepatectomy"; one unlabelled record says "liver resection" and shares
    # no word with them: TF-IDF cannot tell it from the rest, the embeddings can.
    relevant = [f"hepatectomy outcomes in cohort {k}" for k in range(3)]
    other = [f"school lunch programme evaluation {k}" for k in range(30)]
    texts = [*relevant, *other, "liver resection survival"]
    config = RankerConfig(meaning="turns")
    ranker = Ranker(texts, config, cache_dir=tmp_path)
    assert [m.config.features for m in ranker.models] == ["tfidf-one-bag", "tfidf", "embedding"]
    meaning = ranker.models[2]
    assert meaning.dense and meaning.X.shape == (len(texts), 256)
    labelled = np.array([0, 1, 2, 3, 4, 5, 6])
    y = np.array([1, 1, 1, 0, 0, 0, 0])
    for _ in range(3):  # each model's turn once
        ranker.fit(labelled, y)
    unlabelled = np.setdiff1d(np.arange(len(texts)), labelled)
    assert meaning.fitted
    best = unlabelled[np.argmax(meaning.scores[unlabelled])]
    assert texts[best] == "liver resection survival"
    # Cached as an array beside the TF-IDF matrices, and read back the same.
    assert len(list(tmp_path.glob("*.npy"))) == 1
    again = Ranker(texts, config, cache_dir=tmp_path)
    assert np.array_equal(again.models[2].X, meaning.X)


@needs_wordllama
def test_the_question_is_embedded_the_same_way_for_the_cold_start():
    texts = ["liver resection survival", "school lunch programme", "hepatic surgery mortality", "tax policy"]
    ranker = Ranker(texts, RankerConfig(meaning="turns"), question="hepatectomy outcomes")
    ranker.fit(np.array([], dtype=np.int64), np.array([], dtype=int))
    order = ranker.next_order(np.arange(4))
    assert set(order[:2]) == {0, 2}


@needs_wordllama
def test_simulate_with_damaged_weights_says_so_in_one_line_and_exits_2(cli, tmp_path, monkeypatch):
    folder = _copy_of_the_package(tmp_path)
    weights = folder / MODELS["wordllama"].weights
    weights.write_bytes(weights.read_bytes()[:1000])
    monkeypatch.setattr(embeddings, "package_folder", lambda package: folder)
    monkeypatch.setattr(embeddings, "_embedders", {})
    dataset = tmp_path / "toy.csv"
    rows = ["title,abstract,label_included"] + [
        f"record {k},about topic {k % 7},{int(k % 10 == 0)}" for k in range(60)
    ]
    dataset.write_text("\n".join(rows) + "\n")
    result = cli("simulate", str(dataset), "--meaning", "turns", "--seeds", "0")
    assert result.code == 2, result
    assert "wordllama" in result.err and "is cut short" in result.err
    assert "Traceback" not in result.err
    assert "pip install --force-reinstall wordllama==" in result.err


def _header_file(path: Path, header: object, data: bytes = b"") -> None:
    import json
    import struct

    text = header if isinstance(header, str) else json.dumps(header)
    encoded = text.encode()
    path.write_bytes(struct.pack("<Q", len(encoded)) + encoded + data)


@needs_wordllama
@pytest.mark.parametrize(
    "header",
    [
        '{"embedding.weight": {"dtype": "F32", "shape": [Infinity, 256], "data_offsets": [0, 16]}}',
        "[" * 200_000 + "]" * 200_000,
        {"embedding.weight": {"dtype": "F32", "shape": [2**31, 1], "data_offsets": [0, 2**33]}},
        {"embedding.weight": {"dtype": "F32", "shape": [-2, -128], "data_offsets": [0, 1024]}},
        {"embedding.weight": {"dtype": "F32", "shape": [2**32, 2**32], "data_offsets": [0, 0]}},
        {"embedding.weight": {"dtype": "F32", "shape": [4, 256], "data_offsets": [0, 4096]}},  # too few bytes
        {"embedding.weight": {"dtype": "F32", "shape": [1, 4], "data_offsets": [0, 16]}},  # values huge
    ],
    ids=["infinite", "deep", "huge", "negative", "wraps", "short", "huge values"],
)
def test_a_hostile_weights_header_is_the_damaged_error_never_a_crash(tmp_path, monkeypatch, header):
    folder = _copy_of_the_package(tmp_path)
    weights = folder / MODELS["wordllama"].weights
    _header_file(weights, header, np.full(4, 3e38, dtype=np.float32).tobytes())
    monkeypatch.setattr(embeddings, "package_folder", lambda package: folder)
    with pytest.raises(ScreenerError) as caught:
        StaticEmbedder()
    assert "wordllama" in str(caught.value) and "damaged" in str(caught.value)


@needs_wordllama
def test_weights_or_tokenizer_that_are_no_regular_file_are_refused_without_reading(tmp_path, monkeypatch):
    import os

    folder = _copy_of_the_package(tmp_path)
    tokenizer = folder / MODELS["wordllama"].tokenizer
    tokenizer.unlink()
    os.mkfifo(tokenizer)  # reading it would wait forever
    monkeypatch.setattr(embeddings, "package_folder", lambda package: folder)
    with pytest.raises(ScreenerError, match="is not a regular file"):
        StaticEmbedder()


@needs_wordllama
def test_lone_surrogates_and_wordless_records_never_stop_the_model_of_meaning():
    rows = StaticEmbedder().embed(["liver \ud800 resection", "\ud800", "", "   "])
    assert np.isfinite(rows).all() and rows[0].any()
    # Records with no word at all: the model of meaning says it cannot rank, as TF-IDF does.
    ranker = Ranker([""] * 6, RankerConfig(meaning="turns"))
    ranker.fit(np.array([0, 1]), np.array([1, 0]))
    assert all(m.problem for m in ranker.models) and not ranker.fitted and "ranking is off" in ranker.notice


@needs_wordllama
@pytest.mark.parametrize("planted", ["nan", "narrow", "symlink"])
def test_the_feature_cache_never_trusts_a_bad_matrix_nor_writes_through_a_symlink(tmp_path, planted):
    texts = [f"record {k} about liver surgery" for k in range(8)]
    cache = tmp_path / "features"
    first = Ranker(texts, RankerConfig(meaning="turns"), cache_dir=cache).models[2].X.copy()
    (entry,) = cache.glob("*.npy")
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    if planted == "nan":
        np.save(entry, np.full(first.shape, np.nan, dtype=np.float32))
    elif planted == "narrow":
        np.save(entry, np.zeros((8, 3), dtype=np.float32))
    else:
        entry.unlink()
        entry.symlink_to(victim)
    again = Ranker(texts, RankerConfig(meaning="turns"), cache_dir=cache).models[2].X
    assert np.array_equal(again, first)
    assert victim.read_text() == "keep me"
    assert not list(cache.glob(".building-*"))
