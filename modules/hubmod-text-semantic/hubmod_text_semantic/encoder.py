"""The BERT encoder of multilingual-e5-small in Paddle: post-LayerNorm, erf GELU, mean pooling + L2."""
from __future__ import annotations

import numpy as np

from hubcore.formats.e5s1 import E5S1Config, E5S1File

LAYER_MATRICES = ("q.w", "k.w", "v.w", "ao.w", "fi.w", "fo.w")
LAYER_VECTORS = ("q.b", "k.b", "v.b", "ao.b", "aln.w", "aln.b", "fi.b", "fo.b", "oln.w", "oln.b")


def tensor_shapes(config: E5S1Config) -> dict[str, tuple[int, ...]]:
    """Each stored tensor's shape ([out, in] for matrices, as the file stores them)."""
    h, ff = config.hidden, config.ffn
    shapes = {"emb.word": (config.vocab, h), "emb.pos": (config.max_positions, h), "emb.type": (config.type_vocab, h),
              "emb.ln.w": (h,), "emb.ln.b": (h,)}
    for layer in range(config.layers):
        for name in LAYER_MATRICES:
            shapes[f"l{layer}.{name}"] = {"fi.w": (ff, h), "fo.w": (h, ff)}.get(name, (h, h))
        for name in LAYER_VECTORS:
            shapes[f"l{layer}.{name}"] = (ff,) if name == "fi.b" else (h,)
    return shapes


def dequantised_weights(model: E5S1File) -> dict[str, np.ndarray]:
    """Every tensor as float32 in its shape; the 4-bit rounding itself stays (it cannot be undone)."""
    return {name: model.array(name).reshape(shape) for name, shape in tensor_shapes(model.config).items()}


class Encoder:
    """Runs the encoder on padded id batches; weights as paddle tensors, matrices transposed to [in, out]."""

    def __init__(self, weights: dict[str, np.ndarray], config: E5S1Config) -> None:
        import paddle

        self.config = config
        self._word = weights["emb.word"]  # numpy: rows are gathered per batch, 384 MB stays off paddle
        self._w = {name: paddle.to_tensor(value.T.copy() if name.endswith(LAYER_MATRICES) else value)
                   for name, value in weights.items() if name != "emb.word"}

    def __call__(self, ids: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        import paddle
        import paddle.nn.functional as F

        c, w = self.config, self._w
        n, t = ids.shape
        h, heads = c.hidden, c.heads
        hd = h // heads
        with paddle.no_grad():
            mask = paddle.to_tensor((np.arange(t)[None, :] < lengths[:, None]).astype(np.float32))
            x = paddle.to_tensor(self._word[ids]) + w["emb.pos"][:t] + w["emb.type"][0]
            x = F.layer_norm(x, [h], w["emb.ln.w"], w["emb.ln.b"], c.eps)
            bias = ((1.0 - mask) * -1e9).reshape([n, 1, 1, t])
            for layer in range(c.layers):
                def p(name: str, layer: int = layer):
                    return w[f"l{layer}.{name}"]

                def heads_of(y):  # [n, t, h] -> [n, heads, t, hd]
                    return y.reshape([n, t, heads, hd]).transpose([0, 2, 1, 3])

                q = heads_of(x @ p("q.w") + p("q.b"))
                k = heads_of(x @ p("k.w") + p("k.b"))
                v = heads_of(x @ p("v.w") + p("v.b"))
                attn = F.softmax(q @ k.transpose([0, 1, 3, 2]) / hd ** 0.5 + bias, axis=-1) @ v
                attn = attn.transpose([0, 2, 1, 3]).reshape([n, t, h]) @ p("ao.w") + p("ao.b")
                x = F.layer_norm(x + attn, [h], p("aln.w"), p("aln.b"), c.eps)
                ffn = F.gelu(x @ p("fi.w") + p("fi.b")) @ p("fo.w") + p("fo.b")
                x = F.layer_norm(x + ffn, [h], p("oln.w"), p("oln.b"), c.eps)
            pooled = (x * mask.unsqueeze(-1)).sum(1) / mask.sum(1, keepdim=True)
            return F.normalize(pooled, axis=-1).numpy()
