"""Pretrained meaning, offline: records as the mean of static token embeddings shipped in a wheel.

TF-IDF knows words, not that "hepatectomy" and "liver resection" mean the same. A static
embedding model (one vector per token, the text's vector the mean of its tokens') knows some of
that, and is cheap enough to embed 100,000 records on two cores in seconds. The weights come
from a package installed from the registry, read straight from its folder: the package itself
is never imported (wordllama's own loader looks for its tokenizer elsewhere and then downloads
it), and nothing here can reach the network. A missing or damaged weights file is a ScreenerError
naming the package and how to reinstall it.
"""

from __future__ import annotations

import importlib.util
import json
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ScreenerError
from .config import INDEX_TERMS, check_index_terms

# Called with (texts embedded, texts to embed).
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class StaticModel:
    """Where one package keeps its token table and tokenizer, inside its installed folder."""

    name: str  # what review.toml and the benchmarks call it
    package: str  # the registry package that ships the files
    weights: str  # safetensors file, relative to the package folder
    tensor: str  # the token table inside it
    tokenizer: str  # a tokenizers JSON file, relative to the package folder
    licence: str
    width: int  # the table's columns: what a cached matrix of its embeddings must have


MODELS = {
    # WordLlama (MIT): the token embeddings of a large language model distilled into a 32,000 x
    # 256 table by training on sentence-similarity pairs; 16 MB.
    "wordllama": StaticModel(
        "wordllama",
        "wordllama",
        "weights/l2_supercat_256.safetensors",
        "embedding.weight",
        "tokenizers/l2_supercat_tokenizer_config.json",
        "MIT",
        256,
    ),
}
DEFAULT_MODEL = "wordllama"

_DTYPES = {"F16": np.float16, "F32": np.float32, "BF16": None, "F64": np.float64, "I8": np.int8}
# Tokens of one batch: records are embedded in batches so memory stays flat at any review size.
_BATCH = 2048


def package_folder(package: str) -> Path | None:
    """The installed folder of a package, found without importing it (an import of wordllama
    would load pydantic and huggingface_hub, and its loader may try to download)."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def reinstall(model: StaticModel) -> str:
    """The hint for a missing or damaged file: reinstall the version installed (when its
    metadata is still there), the files of another version may not be what this one reads."""
    version = package_version(model.package)
    pinned = model.package if version == "not installed" else f"{model.package}=={version}"
    return f"reinstall it: pip install --force-reinstall {pinned}"


def _damaged(model: StaticModel, path: Path, why: str) -> ScreenerError:
    return ScreenerError(
        f"the embedding files of the {model.package} package are damaged: {path} {why}",
        hint=reinstall(model),
    )


# Larger than any static table a package would ship: a header claiming more is damage.
_LARGEST_FILE = 2_000_000_000
# Vectors of a trained table are small numbers; values this large overflow a sum of tokens.
_LARGEST_VALUE = 1e4


def _regular_file(model: StaticModel, path: Path, what: str) -> int:
    """The size of `path`, a regular file of sensible size (never a FIFO, a device or a folder,
    which would hang or flood the read), or the missing/damaged error."""
    import stat

    try:
        info = path.stat()
    except FileNotFoundError:
        raise ScreenerError(
            f"the {what} of the {model.package} package are missing ({path})", hint=reinstall(model)
        ) from None
    except OSError as error:
        raise _damaged(model, path, f"cannot be read ({error.strerror})") from None
    if not stat.S_ISREG(info.st_mode):
        raise _damaged(model, path, "is not a regular file")
    if info.st_size > _LARGEST_FILE:
        raise _damaged(model, path, "is larger than any table of embeddings")
    return info.st_size


def read_safetensors_tensor(path: Path, name: str, model: StaticModel) -> np.ndarray:
    """One tensor of a safetensors file as float32, read with numpy alone: an 8-byte header
    length, a JSON header of names, dtypes, shapes and byte offsets, then the raw data. Every
    number of the header is checked against the file before anything is read or allocated."""
    size = _regular_file(model, path, "embedding weights")
    try:
        with path.open("rb") as file:
            (length,) = struct.unpack("<Q", file.read(8))
            if not 2 <= length <= min(size - 8, 100_000_000):
                raise _damaged(model, path, "has no safetensors header")
            header = json.loads(file.read(length))
            entry = header[name]
            dtype = _DTYPES.get(entry["dtype"])
            shape = [int(x) for x in entry["shape"]]
            start, stop = (int(x) for x in entry["data_offsets"])
            # Python integers: no overflow, however large the claimed shape.
            fits = len(shape) == 2 and all(0 < x <= 10_000_000 for x in shape)
            if dtype is None or not fits or not 0 <= start <= stop:
                raise _damaged(model, path, f"holds {name} in a form this version cannot read")
            if stop > size - 8 - length:
                raise _damaged(model, path, "is cut short")
            if stop - start != shape[0] * shape[1] * np.dtype(dtype).itemsize:
                raise _damaged(model, path, f"holds {name} in a form this version cannot read")
            file.seek(8 + length + start)
            data = file.read(stop - start)
        if len(data) != stop - start:
            raise _damaged(model, path, "is cut short")
        table = np.frombuffer(data, dtype=dtype).reshape(shape).astype(np.float32)
    except ScreenerError:
        raise
    except (OSError, ValueError, KeyError, TypeError, struct.error, OverflowError, RecursionError) as error:
        raise _damaged(model, path, f"cannot be read ({type(error).__name__})") from None
    except MemoryError:
        raise _damaged(model, path, "claims more than this machine's memory") from None
    if not np.isfinite(table).all() or float(np.abs(table).max()) > _LARGEST_VALUE:
        raise _damaged(model, path, "holds values that are not embeddings (not numbers, or huge)")
    return table


class StaticEmbedder:
    """Texts to unit-length vectors: each the mean of its tokens' rows in the model's table."""

    def __init__(self, model: str = DEFAULT_MODEL) -> None:
        if model not in MODELS:
            raise ScreenerError(f"no embedding model named {model!r}", hint=f"use one of {', '.join(MODELS)}")
        self.model = MODELS[model]
        folder = package_folder(self.model.package)
        if folder is None:
            raise ScreenerError(
                f"ranking by meaning needs the {self.model.package} package, which is not installed",
                hint=f"pip install {self.model.package}",
            )
        weights = folder / self.model.weights
        self.table = read_safetensors_tensor(weights, self.model.tensor, self.model)
        if self.table.shape[1] != self.model.width:
            raise _damaged(
                self.model, weights, f"holds {self.table.shape[1]} columns, not {self.model.width}"
            )
        self.tokenizer = self._tokenizer(folder / self.model.tokenizer)

    def _tokenizer(self, path: Path):  # noqa: ANN202 - tokenizers.Tokenizer
        from tokenizers import Tokenizer

        if _regular_file(self.model, path, "tokenizer files") > 200_000_000:
            raise _damaged(self.model, path, "is larger than any tokenizer")
        try:
            tokenizer = Tokenizer.from_file(str(path))  # a local file: never the hub
        except Exception as error:  # noqa: BLE001 - the Rust side raises plain Exception
            raise _damaged(self.model, path, f"cannot be read ({str(error)[:120]})") from None
        tokenizer.no_padding()
        tokenizer.no_truncation()
        if tokenizer.get_vocab_size() > self.table.shape[0] + 1000:
            raise _damaged(self.model, path, "does not match the weights' vocabulary")
        return tokenizer

    @property
    def dimensions(self) -> int:
        return int(self.table.shape[1])

    def embed(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        """One unit-length float32 row per text (zeros for a text with no token)."""
        from scipy import sparse

        rows = np.zeros((len(texts), self.dimensions), dtype=np.float32)
        vocabulary = self.table.shape[0]
        if progress is not None:
            progress(0, len(texts))
        for start in range(0, len(texts), _BATCH):
            # Valid UTF-8 only: a lone surrogate (possible in a Python str) is refused by the
            # tokenizer, and one damaged record must not stop the ranking.
            batch = [
                (t or "").encode("utf-8", "replace").decode("utf-8") for t in texts[start : start + _BATCH]
            ]
            try:
                encoded = self.tokenizer.encode_batch(batch, add_special_tokens=False)
            except (KeyboardInterrupt, SystemExit):
                raise
            except BaseException as error:  # noqa: BLE001 - a panic in the Rust tokenizer is a BaseException
                path = package_folder(self.model.package) or Path(self.model.package)
                raise _damaged(
                    self.model, path / self.model.tokenizer, f"fails on a record ({str(error)[:120]})"
                ) from None
            ids = [np.asarray(e.ids, dtype=np.int64) for e in encoded]
            lengths = np.fromiter((len(i) for i in ids), dtype=np.int64, count=len(ids))
            flat = np.concatenate(ids) if len(ids) else np.zeros(0, dtype=np.int64)
            flat = np.clip(flat, 0, vocabulary - 1)
            # Token counts per text times the table: the mean without a tokens x dims array.
            counts = sparse.csr_matrix(
                (np.ones(len(flat), dtype=np.float32), flat, np.concatenate([[0], np.cumsum(lengths)])),
                shape=(len(batch), vocabulary),
            )
            summed = np.asarray(counts @ self.table, dtype=np.float32)
            norms = np.linalg.norm(summed, axis=1, keepdims=True)
            rows[start : start + len(batch)] = np.divide(
                summed, norms, out=np.zeros_like(summed), where=norms > 0
            )
            if progress is not None:
                progress(min(start + _BATCH, len(texts)), len(texts))
        return rows


_embedders: dict[str, StaticEmbedder] = {}
_recent: dict[tuple[str, str], np.ndarray] = {}


def embedder(model: str = DEFAULT_MODEL) -> StaticEmbedder:
    """The model's embedder, loaded once per process (0.2 s: the table is read from disk)."""
    if model not in _embedders:
        _embedders[model] = StaticEmbedder(model)
    return _embedders[model]


def embed_texts(
    texts: Sequence[str], model: str = DEFAULT_MODEL, progress: Progress | None = None
) -> np.ndarray:
    """The texts' embeddings, remembered for the last few sets of texts: the models of one
    Ranker that each read the embeddings embed the records once."""
    import hashlib

    digest = hashlib.sha256()
    for text in texts:
        digest.update(text.encode("utf-8", "replace"))
        digest.update(b"\0")
    key = (model, digest.hexdigest())
    if key not in _recent:
        if len(_recent) >= 2:
            _recent.pop(next(iter(_recent)))
        _recent[key] = embedder(model).embed(texts, progress)
    return _recent[key]


class StaticEmbeddingFeatures:
    """Each record as its static embedding (title, abstract and index terms, one text): 256
    dense columns, a plain float32 array (`dense`: the Ranker fits and scores it as one)."""

    name = "embedding"
    dense = True

    def __init__(self, model: str = DEFAULT_MODEL, index_terms: str = "words") -> None:
        if model not in MODELS:
            raise ValueError(f"model must be one of {', '.join(MODELS)}, not {model!r}")
        self.model = model
        self.index_terms = check_index_terms(index_terms, INDEX_TERMS[self.name])
        self.width = MODELS[model].width
        # In the feature cache's key: other weights never reuse these embeddings.
        self.weights_version = package_version(MODELS[model].package)

    def fit_transform(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        return embed_texts([readable(t, self.index_terms) for t in texts], self.model, progress)


def package_version(package: str) -> str:
    """The installed version of a package, from its metadata (without importing it)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return "not installed"


def readable(text: str, index_terms: str = "words") -> str:
    """A record's text as the model reads it: with its index terms after a full stop (where
    features.INDEX_TERMS_MARK was), or without them ("ignore")."""
    if index_terms == "ignore":
        return text.partition("\x1f")[0]
    return text.replace("\x1f", ".")
