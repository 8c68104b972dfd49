"""Sequence classifiers: token-id models (bag of embeddings, packed (bi)LSTM/GRU, Transformer encoder)
and the tutorial's SimpleLSTM over numeric [batch, time, features] sequences.

Every token model left-aligns its input first, so pre- or post-padding, and any amount of it,
gives the same prediction: padding is never seen by the computation.
"""

from __future__ import annotations

import torch
from torch import nn

from neuralab.models.registry import register_model

PAD = 0
TFIDF_INIT_STD = 1e-3  # measured: 1e-3 beat 1e-2 and N(0, 1) by 1-6 points on the fortune corpora
OOV = 1  # the tokenizer's id for words it has not seen


def left_align(tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Move every non-padding id to the front, keeping order; also return the lengths.

    A scatter to each id's rank among the row's real ids, not a sort: ONNX exports a scatter
    (its exporter refuses a stable sort). Padding is sent to a spare last column, then dropped.
    """
    real = tokens != PAD
    width = tokens.shape[1]
    destination = torch.where(real, real.cumsum(dim=1) - 1, width)
    spare = tokens.new_zeros(tokens.shape[0], width + 1)
    return spare.scatter(1, destination, tokens)[:, :width], real.sum(dim=1)


class TokenClassifier(nn.Module):
    """Base: an `embedding` (what pretrained vectors load into and what explanations attribute to)."""

    embedding: nn.Module

    def example_input(self, maxlen: int) -> torch.Tensor:
        return torch.ones(1, maxlen, dtype=torch.long)


class BagOfEmbeddings(TokenClassifier):
    """fastText-style: a weighted sum of token vectors, then a linear head.

    `weighting="mean"` averages the vectors. `weighting="tfidf"` weights each distinct token by
    (1 + log count) x idf and divides by the L2 norm of those weights: the sum is then exactly the
    TF-IDF vector (sublinear tf, l2 norm, as scikit-learn's `TfidfVectorizer(sublinear_tf=True)`)
    multiplied by the embedding matrix, so the model is a low-rank logistic regression on TF-IDF
    features that also learns its token vectors. The idf comes from the training split (`adapt`) and
    is saved with the weights; unknown tokens (OOV) get weight 0, as TF-IDF ignores unseen words.
    """

    embedding: nn.Embedding
    idf: torch.Tensor

    def __init__(self, vocab_size: int, num_classes: int, dim: int, dropout: float, weighting: str = "tfidf") -> None:
        super().__init__()
        if weighting not in ("mean", "tfidf"):
            raise ValueError(f"weighting must be mean or tfidf, not {weighting!r}")
        self.weighting = weighting
        self.embedding = nn.Embedding(vocab_size, dim, padding_idx=PAD)
        if weighting == "tfidf":  # start near zero, like logistic regression, not from N(0, 1) projections
            nn.init.normal_(self.embedding.weight, std=TFIDF_INIT_STD)
            self.embedding.weight.data[PAD] = 0
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(dim, num_classes)
        idf = torch.ones(vocab_size)
        idf[: OOV + 1] = 0.0
        self.register_buffer("idf", idf)

    @torch.no_grad()
    def adapt(self, tokens: torch.Tensor) -> None:
        """Learn the idf from the training split's token ids: log((1 + n) / (1 + df)) + 1."""
        ordered = tokens.clamp(0, self.idf.numel() - 1).sort(dim=1).values
        first = torch.ones_like(ordered, dtype=torch.bool)
        first[:, 1:] = ordered[:, 1:] != ordered[:, :-1]  # each distinct token once per text
        df = torch.bincount(ordered[first], minlength=self.idf.numel()).to(torch.float32)
        idf = torch.log((1 + tokens.shape[0]) / (1 + df)) + 1
        idf[: OOV + 1] = 0.0
        self.idf.copy_(idf)

    def token_weights(self, tokens: torch.Tensor) -> torch.Tensor:
        """Per-position weights [batch, length] whose sum per distinct token is its TF-IDF value."""
        real = tokens != PAD
        if self.weighting == "mean":
            return real / real.sum(dim=1, keepdim=True).clamp_min(1)
        same = (tokens.unsqueeze(2) == tokens.unsqueeze(1)) & real.unsqueeze(1)
        count = same.sum(dim=2).clamp_min(1).to(self.idf.dtype)
        value = self.idf[tokens] * (1 + torch.log(count)) * real  # the TF-IDF value of each position's token
        norm = ((value**2) / count).sum(dim=1, keepdim=True).sqrt().clamp_min(1e-12)
        return value / count / norm

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        weights = self.token_weights(tokens).to(self.embedding.weight.dtype).unsqueeze(-1)
        return self.head(self.dropout((self.embedding(tokens) * weights).sum(dim=1)))


class RecurrentClassifier(TokenClassifier):
    def __init__(self, vocab_size: int, num_classes: int, dim: int, hidden: int, cell: str, bidirectional: bool,
                 layers: int, dropout: float) -> None:  # fmt: skip
        super().__init__()
        if cell not in ("lstm", "gru"):
            raise ValueError(f"cell must be lstm or gru, not {cell!r}")
        self.embedding = nn.Embedding(vocab_size, dim, padding_idx=PAD)
        rnn = nn.LSTM if cell == "lstm" else nn.GRU
        self.rnn = rnn(dim, hidden, num_layers=layers, batch_first=True, bidirectional=bidirectional,
                       dropout=dropout if layers > 1 else 0.0)  # fmt: skip
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(hidden * (2 if bidirectional else 1), num_classes)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        tokens, lengths = left_align(tokens)
        lengths = lengths.clamp_min(1)  # an empty text is read as one padding token
        last = torch.cat(run_recurrent(self.rnn, self.embedding(tokens), lengths), dim=-1)
        return self.head(self.dropout(last))


def reverse_within(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Each row's first `length` steps in reverse order, the padding after them left in place.

    Applying it twice gives `x` back, so it also puts a reverse pass's outputs back in time order.
    """
    steps = torch.arange(x.shape[1], device=x.device)
    order = torch.where(steps < lengths[:, None], lengths[:, None] - 1 - steps, steps)
    return x.gather(1, order[:, :, None].expand(-1, -1, x.shape[2]))


def run_recurrent(rnn: nn.LSTM | nn.GRU, x: torch.Tensor, lengths: torch.Tensor) -> list[torch.Tensor]:
    """The final hidden state of each direction of `rnn`'s last layer, over left-aligned padded rows.

    The same function as running `rnn` on a PackedSequence, computed without one: a packed sequence
    runs PyTorch's step-by-step CPU kernel, while whole padded batches run oneDNN's fused one (2.8x
    faster forward + backward for a bi-LSTM at batch 32 over up to 200 tokens, 2 cores). Padding
    only ever follows a row's real steps, so it never reaches the outputs read: the forward pass is
    read at step length - 1, and the reverse pass runs forward over each row reversed within its
    length. `rnn`'s own parameters are used (state dicts are unchanged); between layers, `rnn.dropout`
    applies in training as nn.LSTM applies it.
    """
    directions = 2 if rnn.bidirectional else 1
    weights = [w for w in rnn._flat_weights if w is not None]  # per layer, per direction: w_ih, w_hh, b_ih, b_hh
    per_direction = len(weights) // (rnn.num_layers * directions)
    read = (lengths - 1)[:, None, None].expand(-1, 1, rnn.hidden_size)
    finals: list[torch.Tensor] = []
    for layer in range(rnn.num_layers):
        outputs = []
        for direction in range(directions):
            first = (layer * directions + direction) * per_direction
            params = weights[first : first + per_direction]
            inputs = x if direction == 0 else reverse_within(x, lengths)
            out = _one_direction(rnn, inputs, params)
            outputs.append(out if direction == 0 else reverse_within(out, lengths))
            if layer == rnn.num_layers - 1:
                finals.append(out.gather(1, read)[:, 0])  # the reverse pass ends where its reversed row does
        x = torch.cat(outputs, dim=-1) if directions == 2 else outputs[0]
        if layer < rnn.num_layers - 1 and rnn.dropout:
            x = nn.functional.dropout(x, rnn.dropout, rnn.training)
    return finals


def _one_direction(rnn: nn.LSTM | nn.GRU, x: torch.Tensor, params: list[torch.Tensor]) -> torch.Tensor:
    """One layer, one direction, from zero state: the outputs at every step [batch, time, hidden]."""
    zeros = x.new_zeros(1, x.shape[0], rnn.hidden_size)
    if isinstance(rnn, nn.LSTM):
        return torch._VF.lstm(x, (zeros, zeros), params, rnn.bias, 1, 0.0, rnn.training, False, True)[0]  # type: ignore[attr-defined]
    return torch._VF.gru(x, zeros, params, rnn.bias, 1, 0.0, rnn.training, False, True)[0]  # type: ignore[attr-defined]


class TransformerClassifier(TokenClassifier):
    def __init__(self, vocab_size: int, num_classes: int, maxlen: int, dim: int, heads: int, layers: int,
                 ff: int, dropout: float, attention_dropout: float) -> None:  # fmt: skip
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, dim, padding_idx=PAD)
        self.position = nn.Embedding(maxlen, dim)
        layer = nn.TransformerEncoderLayer(dim, heads, ff, dropout, batch_first=True, norm_first=True)
        # PyTorch's CPU generator draws about 3 ns a number on one thread: dropout on the [batch, heads,
        # length, length] weights was 38% of a step at 200 tokens (a step 2.4x faster without it).
        layer.self_attn.dropout = attention_dropout
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, num_classes)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        tokens, _ = left_align(tokens)
        tokens = tokens[:, : self.position.num_embeddings]
        pad = tokens == PAD
        pad[:, 0] = False  # an empty text still attends to one position
        positions = torch.arange(tokens.shape[1], device=tokens.device)
        x = self.encoder(self.embedding(tokens) + self.position(positions), src_key_padding_mask=pad)
        keep = (~pad).unsqueeze(-1).to(x.dtype)
        return self.head(self.norm((x * keep).sum(dim=1) / keep.sum(dim=1)))


@register_model("fastText-style TF-IDF-weighted bag of embeddings, linear head (fast, strong on small corpora)",
                inputs=("text",))  # fmt: skip
def text_bag(input_shape: tuple[int, ...], num_classes: int, vocab_size: int = 20000, dim: int = 64,
             dropout: float = 0.2, weighting: str = "tfidf") -> nn.Module:  # fmt: skip
    return BagOfEmbeddings(vocab_size, num_classes, dim, dropout, weighting)


@register_model("embedding + (bi)LSTM or GRU over packed sequences", inputs=("text",))
def text_rnn(input_shape: tuple[int, ...], num_classes: int, vocab_size: int = 20000, dim: int = 100,
             hidden: int = 128, cell: str = "lstm", bidirectional: bool = True, layers: int = 1,
             dropout: float = 0.3) -> nn.Module:  # fmt: skip
    return RecurrentClassifier(vocab_size, num_classes, dim, hidden, cell, bidirectional, layers, dropout)


@register_model("Transformer encoder with a padding mask, masked mean pooling", inputs=("text",))
def text_transformer(input_shape: tuple[int, ...], num_classes: int, vocab_size: int = 20000, dim: int = 64,
                     heads: int = 4, layers: int = 2, ff: int = 128, dropout: float = 0.1,
                     attention_dropout: float | None = None) -> nn.Module:  # fmt: skip
    """`attention_dropout` (on the attention weights; `dropout` if unset) is the costly one on a CPU."""
    attention = dropout if attention_dropout is None else attention_dropout
    return TransformerClassifier(vocab_size, num_classes, input_shape[0], dim, heads, layers, ff, dropout, attention)


class SimpleLSTM(nn.Module):
    """The tutorial's part 4.2 model: an LSTM over [batch, time, features], classified from the last step."""

    def __init__(self, features: int, hidden: int, layers: int, num_classes: int, cell: str = "lstm") -> None:
        super().__init__()
        if cell not in ("lstm", "gru"):
            raise ValueError(f"cell must be lstm or gru, not {cell!r}")
        rnn = nn.LSTM if cell == "lstm" else nn.GRU
        self.lstm = rnn(features, hidden, num_layers=layers, batch_first=True)
        self.head = nn.Linear(hidden, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.lstm(x)
        return self.head(out[:, -1])


@register_model("the tutorial's SimpleLSTM on numeric sequences [time, features] (cell: lstm or gru)",
                inputs=("sequence",))  # fmt: skip
def sequence_lstm(
    input_shape: tuple[int, ...], num_classes: int, hidden: int = 64, layers: int = 1, cell: str = "lstm"
) -> nn.Module:
    return SimpleLSTM(input_shape[-1], hidden, layers, num_classes, cell)
