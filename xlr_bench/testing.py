"""Tiny real models built locally, for tests and benchmarks that must run offline in seconds.

The model is a genuine BERT + sentence-transformers pipeline (tokenizer trained on real text,
mean pooling, E5-style prompts) with random weights: it exercises every code path of encoding,
scoring and training without a download. Quality is not the point; plumbing is.
"""

from __future__ import annotations

from pathlib import Path

import torch
from sentence_transformers import SentenceTransformer
from sentence_transformers.sentence_transformer.modules import Pooling, Transformer
from tokenizers import Tokenizer, decoders, normalizers, pre_tokenizers, processors, trainers
from tokenizers.models import WordPiece
from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def build_tiny_model(out_dir: Path, texts: list[str], *, vocab_size: int = 3000, hidden: int = 32,
                     layers: int = 2, seed: int = 0) -> Path:
    """Train a WordPiece tokenizer on ``texts``, attach a random tiny BERT, save an ST directory."""
    out_dir = Path(out_dir)
    tok = Tokenizer(WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece()
    tok.train_from_iterator(texts, trainers.WordPieceTrainer(vocab_size=vocab_size, special_tokens=SPECIALS))
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B [SEP]",
        special_tokens=[("[CLS]", tok.token_to_id("[CLS]")), ("[SEP]", tok.token_to_id("[SEP]"))],
    )
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]",
                                   cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]", model_max_length=128)
    torch.manual_seed(seed)
    config = BertConfig(vocab_size=tok.get_vocab_size(), hidden_size=hidden, num_hidden_layers=layers,
                        num_attention_heads=2, intermediate_size=hidden * 2, max_position_embeddings=128)
    hf_dir = out_dir / "hf"
    # With its pooler (unused by mean pooling, drawn after the encoder's weights): loading then reports
    # no missing weights, so tests and the CI smoke test print no transformers load table.
    BertModel(config).save_pretrained(hf_dir)
    fast.save_pretrained(hf_dir)
    transformer = Transformer(str(hf_dir), max_seq_length=128)
    pooling = Pooling(transformer.get_embedding_dimension(), pooling_mode="mean")
    st = SentenceTransformer(modules=[transformer, pooling], prompts={"query": "query: ", "document": "passage: "},
                             similarity_fn_name="cosine")
    st.save(str(out_dir / "st"))
    return out_dir / "st"


XQUAD_LANGUAGES = ["ar", "de", "el", "en", "es", "hi", "ru", "th", "tr", "vi", "zh"]


def build_tiny_xquad_model(out_dir: Path) -> Path:
    """:func:`build_tiny_model` with its tokenizer trained on XQuAD-R's questions and answer sentences
    (the real data, from ``XLR_BENCH_DATA``), so it tokenizes every language of the tasks."""
    from xlr_bench.data.lareqa import load_lareqa

    xquad = load_lareqa({lang: f"lareqa/xquad-r/{lang}.json" for lang in XQUAD_LANGUAGES})
    texts = [c.sentence for cands in xquad.candidates.values() for c in cands]
    texts += [q.text for qs in xquad.questions.values() for q in qs]
    return build_tiny_model(out_dir, texts)


if __name__ == "__main__":  # `python -m xlr_bench.testing OUT`: the tiny model CI scores and submits
    import sys

    print(build_tiny_xquad_model(Path(sys.argv[1])))
