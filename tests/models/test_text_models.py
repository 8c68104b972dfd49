"""Sequence models: padding never changes a prediction; the tutorial's SimpleLSTM learns."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.feature_extraction.text import TfidfVectorizer

from neuralab.data.text import Tokenizer, encode, pad_sequences
from neuralab.models import create_model, summarize
from neuralab.models.text import BagOfEmbeddings
from neuralab.train.keras_api import KerasModel

TEXT_MODELS = [
    ("text_bag", {}),
    ("text_bag", {"weighting": "mean"}),
    ("text_rnn", {"cell": "lstm", "bidirectional": True}),
    ("text_rnn", {"cell": "gru", "bidirectional": False, "layers": 2}),
    ("text_transformer", {}),
]


@pytest.mark.parametrize(("name", "args"), TEXT_MODELS)
def test_padding_does_not_change_a_prediction(name: str, args: dict) -> None:
    torch.manual_seed(0)
    model = create_model(name, (64,), 4, "text", vocab_size=50, **args).eval()
    rng = np.random.default_rng(0)
    seqs = [list(rng.integers(2, 50, n)) for n in (3, 17, 9, 30, 1)]
    if isinstance(model, BagOfEmbeddings):  # repeated tokens exercise the term counts
        model.adapt(torch.from_numpy(pad_sequences(seqs, maxlen=64)))
    short = torch.from_numpy(pad_sequences(seqs, maxlen=30, padding="post"))
    long = torch.from_numpy(pad_sequences(seqs, maxlen=64, padding="post"))
    pre = torch.from_numpy(pad_sequences(seqs, maxlen=64, padding="pre"))
    with torch.no_grad():
        a, b, c = model(short), model(long), model(pre)
    torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(a, c, atol=1e-5, rtol=1e-5)
    alone = torch.from_numpy(pad_sequences(seqs[1:2], maxlen=64, padding="post"))
    with torch.no_grad():
        torch.testing.assert_close(model(alone)[0], b[1], atol=1e-5, rtol=1e-5)  # batch neighbours do not matter
    assert summarize(model, (64,)).forward_flops > 0


def test_tfidf_bag_is_scikit_learns_tfidf_vector_times_the_embedding() -> None:
    """The model's weighted sum equals TfidfVectorizer(sublinear_tf=True) @ embedding: same idf
    (from the training texts only), same sublinear counts, same l2 norm, unseen words ignored."""
    train = ["the cat sat on the mat", "the dog ate the cat food", "a cat and a dog", "dogs bark bark bark"]
    test = ["the cat the cat the cat", "a bird sat on the dog", "unseen words only", "bark"]
    tokenizer = Tokenizer("word").fit(train)
    model = create_model("text_bag", (16,), 3, "text", vocab_size=tokenizer.vocab_size, dim=8)
    assert isinstance(model, BagOfEmbeddings)
    model.adapt(encode(tokenizer, train, 16))
    ids = encode(tokenizer, test, 16)
    with torch.no_grad():
        ours = (model.embedding(ids) * model.token_weights(ids).unsqueeze(-1)).sum(dim=1)
    vocabulary = {token: index - 2 for token, index in tokenizer.word_index.items()}  # ours start at 2
    vectorizer = TfidfVectorizer(vocabulary=vocabulary, tokenizer=tokenizer.tokens, lowercase=False,
                                 token_pattern=None, sublinear_tf=True)  # fmt: skip
    vectorizer.fit(train)
    tfidf = torch.from_numpy(vectorizer.transform(test).toarray()).float()
    vectors = model.embedding.weight.detach()[2:]  # ids 0 and 1 are padding and OOV
    torch.testing.assert_close(ours, tfidf @ vectors, atol=1e-5, rtol=1e-4)
    assert torch.equal(ours[2], torch.zeros(8))  # only unseen words: the zero vector, not NaN


def test_text_models_refuse_images() -> None:
    from neuralab.errors import UserError

    with pytest.raises(UserError, match="takes text inputs"):
        create_model("text_rnn", (1, 28, 28), 10)


def test_simple_lstm_learns_to_tell_sine_from_square_waves() -> None:
    """The median test accuracy of 5 seeds: an LSTM run can stall, and which seed does depends on the
    machine (AMD EPYC, fp32: 100, 100, 99.0 and 89.5% for seeds 0-3; AMX Xeon, where `auto` trains in
    bf16: seed 2 of 0-11 sat at 62.5% and the other eleven reached 100%, which sank a 3-seed mean in CI).
    The median still fails if three of five seeds stall."""
    rng = np.random.default_rng(0)
    t = np.linspace(0, 4 * np.pi, 40)
    x, y = [], []
    for i in range(1200):
        phase, freq = rng.uniform(0, 2 * np.pi), rng.uniform(0.8, 1.2)
        wave = np.sin(freq * t + phase)
        label = i % 2
        signal = np.sign(wave) if label else wave
        x.append(np.stack([signal + rng.normal(0, 0.2, t.size), np.gradient(signal)], axis=1))
        y.append(label)
    x_arr, y_arr = np.asarray(x, np.float32), np.asarray(y)
    accuracies = []
    for seed in range(5):
        torch.manual_seed(seed)
        model = KerasModel(create_model("sequence_lstm", (40, 2), 2))
        model.compile(optimizer="adam", lr=3e-3)
        model.fit(x_arr[:1000], y_arr[:1000], epochs=20, batch_size=32)
        accuracies.append(model.evaluate(x_arr[1000:], y_arr[1000:])[1])
    assert sorted(accuracies)[2] > 0.95, accuracies


@pytest.mark.parametrize("cell", [torch.nn.LSTM, torch.nn.GRU])
@pytest.mark.parametrize(("bidirectional", "layers"), [(True, 1), (True, 2), (False, 2)])
def test_padded_recurrence_is_the_packed_one(cell: type, bidirectional: bool, layers: int) -> None:
    """run_recurrent computes what nn.LSTM/GRU computes on a PackedSequence: outputs and gradients."""
    from torch.nn.utils.rnn import pack_padded_sequence

    from neuralab.models.text import run_recurrent

    torch.manual_seed(0)
    rnn = cell(7, 5, num_layers=layers, batch_first=True, bidirectional=bidirectional).eval()
    x = torch.randn(6, 11, 7, requires_grad=True)
    lengths = torch.tensor([11, 1, 4, 7, 11, 2])
    _, state = rnn(pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False))
    hidden = state[0] if isinstance(state, tuple) else state
    expected = hidden[-(2 if bidirectional else 1) :].transpose(0, 1).reshape(6, -1)
    ours = torch.cat(run_recurrent(rnn, x, lengths), dim=-1)
    torch.testing.assert_close(ours, expected, atol=1e-6, rtol=1e-5)
    weights = torch.randn_like(ours)
    grad_expected = torch.autograd.grad((expected * weights).sum(), [x, *rnn.parameters()])
    grad_ours = torch.autograd.grad((ours * weights).sum(), [x, *rnn.parameters()])
    for a, b in zip(grad_ours, grad_expected, strict=True):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4)


def test_attention_dropout_is_its_own_switch() -> None:
    default = create_model("text_transformer", (16,), 3, "text", vocab_size=50, dropout=0.2)
    without = create_model("text_transformer", (16,), 3, "text", vocab_size=50, dropout=0.2, attention_dropout=0.0)
    assert [layer.self_attn.dropout for layer in default.encoder.layers] == [0.2, 0.2]
    assert [layer.self_attn.dropout for layer in without.encoder.layers] == [0.0, 0.0]
    assert all(layer.dropout1.p == 0.2 for layer in without.encoder.layers)  # the residual dropout stays
