from __future__ import annotations

from torch import nn

from neuralab.model_contract import token_vocabulary
from neuralab.models.text import TransformerClassifier


def test_a_transformers_vocabulary_is_its_token_embedding_not_its_positions() -> None:
    # 20,000 token ids and 138 positions: the positions must not cap the ids a tokenizer may give
    model = TransformerClassifier(20_000, 3, maxlen=138, dim=8, heads=2, layers=1, ff=16, dropout=0.0,
                                  attention_dropout=0.0)  # fmt: skip
    assert token_vocabulary(model) == 20_000


def test_a_model_without_a_named_token_embedding_answers_with_its_smallest() -> None:
    assert token_vocabulary(nn.Sequential(nn.Embedding(50, 4), nn.Flatten(), nn.Linear(4, 2))) == 50
    assert token_vocabulary(nn.Sequential(nn.Conv2d(1, 4, 3), nn.Flatten())) is None
