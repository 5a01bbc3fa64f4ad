"""Hugging Face transformers: a tiny randomly initialised BERT with a locally built tokenizer."""

from __future__ import annotations

import pytest

from mlotel import _semconv as sc
from mlotel.instrumentation import instrument, uninstrument
from tests.instrumentation.support import features, identity, model_names, series, spans

transformers = pytest.importorskip("transformers")
torch = pytest.importorskip("torch")

VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "movie", "was", "good", "bad", "great", "awful"]


@pytest.fixture(scope="module")
def classifier(tmp_path_factory):
    vocab = tmp_path_factory.mktemp("tokenizer") / "vocab.txt"
    vocab.write_text("\n".join(VOCAB))
    tokenizer = transformers.BertTokenizerFast(vocab_file=str(vocab))
    torch.manual_seed(0)
    config = transformers.BertConfig(
        vocab_size=len(VOCAB),
        hidden_size=16,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=32,
        num_labels=2,
        id2label={0: "NEG", 1: "POS"},
        label2id={"NEG": 0, "POS": 1},
    )
    model = transformers.BertForSequenceClassification(config).eval()
    return transformers.pipeline("text-classification", model=model, tokenizer=tokenizer)


def test_pipeline_call_task_text_lengths_and_labels(telemetry, classifier):
    from transformers.pipelines.base import Pipeline

    before = Pipeline.__dict__["__call__"]
    texts = ["the movie was great", "awful", "the movie was bad bad bad"]
    assert instrument("transformers", "torch", tracer_provider=telemetry.tracer_provider) == [
        "transformers",
        "torch",
    ]
    results = classifier(texts)
    single = classifier("good movie")

    assert [s.name for s in spans(telemetry)] == ["text-classification BertForSequenceClassification"] * 2
    assert model_names(telemetry) == {"BertForSequenceClassification"}  # the model call inside is nested
    first = spans(telemetry)[0]
    assert (
        identity(first)[1] == "transformers" and first.attributes[sc.OPERATION_NAME] == "text-classification"
    )
    assert first.attributes[sc.BATCH_SIZE] == 3
    lengths = features(telemetry, "BertForSequenceClassification")["text_length"]
    assert lengths.count == 4 and lengths.sum == sum(map(len, texts)) + len("good movie")
    labels = series(telemetry, sc.PREDICTION_CLASS_COUNT, sc.PREDICTION_CLASS, **{sc.OUTPUT_NAME: "label"})
    expected: dict[str, int] = {}
    for result in [*results, *single]:
        expected[result["label"]] = expected.get(result["label"], 0) + 1
    assert {k: p.value for k, p in labels.items()} == expected

    uninstrument("transformers", "torch")
    assert Pipeline.__dict__["__call__"] is before
    classifier("the movie")
    assert len(spans(telemetry)) == 2
