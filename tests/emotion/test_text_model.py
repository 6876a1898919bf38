"""The text emotion/sentiment model: the committed head on clear sentences, the pieces, and training
(deterministic on a small MELD slice, report fields, the `train text-emotion` command)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from sensorium.emotion.finetune import LoraConfig, train_lora
from sensorium.emotion.text_model import (
    ADAPTER_FILE,
    EMOTIONS,
    HEAD_FILE,
    SENTIMENTS,
    LoraAdapter,
    TextHead,
    adapt_encoder,
    default_dir,
    dialogue_context,
    load_text_emotion_model,
    normalise_text,
)
from sensorium.emotion.training import TrainConfig, read_meld, row_contexts, train_adapter, train_text_emotion
from sensorium.models.text_embedding import MINILM

CLEAR = [
    ("I am so happy, this is wonderful!", "joy", "positive"),
    ("I hate you, get out!", "anger", "negative"),
    ("What?! You did what?", "surprise", None),
    ("I'm scared, someone is in the house.", "fear", "negative"),
    ("That's disgusting, it smells awful.", "disgust", "negative"),
    ("I miss her so much, I can't stop crying.", "sadness", "negative"),
    ("Okay.", "neutral", "neutral"),
]


@pytest.fixture(scope="module")
def minilm(services):
    with services.registry.use(MINILM) as model:
        yield model


@pytest.fixture(scope="module")
def model(minilm):
    return load_text_emotion_model(minilm)


@pytest.fixture(scope="module")
def meld(shared_dir: Path) -> Path:
    folder = shared_dir / "testdata" / "meld"
    if not (folder / "train_sent_emo.csv").is_file():
        pytest.skip("MELD CSVs not found in ../shared/testdata/meld")
    return folder


def test_normalise_repairs_meld_encodings():
    assert normalise_text("I don\x92t know\x85") == "I don't know..."
    assert normalise_text("You must\u2019ve had  your hands full\u2014ok") == "You must've had your hands full - ok"
    assert normalise_text("It\u00e2\u20ac\u2122s fine") == "It's fine"
    assert normalise_text("  caf\u00e9 \u201cnoir\u201d ") == 'caf\u00e9 "noir"'


def test_committed_files_are_small_and_consistent():
    folder = default_dir()
    head = TextHead.load(folder / HEAD_FILE)
    assert head.emotion.weight.shape == (head.feature_dim, len(EMOTIONS))
    assert head.sentiment.weight.shape == (head.feature_dim, len(SENTIMENTS))
    total = sum(p.stat().st_size for p in folder.iterdir() if p.is_file())
    assert total < 5_000_000
    if head.encoder == "minilm+lora":
        adapter = LoraAdapter.load(folder / ADAPTER_FILE)
        assert adapter.rank > 0 and adapter.weights


@pytest.mark.parametrize(("text", "emotion", "sentiment"), CLEAR)
def test_clear_sentences(model, text, emotion, sentiment):
    [r] = model.predict([text])
    assert r.emotion == emotion, r.emotion_scores
    if sentiment:
        assert r.sentiment == sentiment, r.sentiment_scores
    assert r.text == text


def test_scores_are_distributions_and_label_is_top(model):
    results = model.predict(["Oh my god, I can't believe it!", "Okay.", "I'm scared, someone is in the house."])
    for r in results:
        assert set(r.emotion_scores) == set(EMOTIONS) and set(r.sentiment_scores) == set(SENTIMENTS)
        assert sum(r.emotion_scores.values()) == pytest.approx(1, abs=1e-3)
        assert sum(r.sentiment_scores.values()) == pytest.approx(1, abs=1e-3)
        assert r.emotion == max(r.emotion_scores, key=r.emotion_scores.get)
        assert r.sentiment == max(r.sentiment_scores, key=r.sentiment_scores.get)
    assert model.predict([]) == []


def test_empty_long_and_foreign_text(model):
    """100 000 characters are cut to MAX_CHARS before VADER and MiniLM (speed is in bench/, not here)."""
    from sensorium.emotion.text_model import MAX_CHARS

    huge = "I am so happy today, but the weather is awful. " * 2200
    empty, long, foreign = model.predict(["", huge, "Je suis tr\u00e8s content, c'est merveilleux !"])
    assert len(huge) > 100_000
    cut = model.predict([huge[:MAX_CHARS]])[0]
    assert long.emotion_scores == pytest.approx(cut.emotion_scores, abs=0.02)  # the same text, cut
    for r in (empty, long, foreign):
        assert r.emotion in EMOTIONS and r.sentiment in SENTIMENTS
    assert empty.emotion == "neutral"


def test_context_and_batching(model):
    dialogue = ["We got the apartment!", "No way!", "Yes, we move in on Monday.", "That's amazing."]
    alone = model.predict(dialogue)
    in_dialogue = model.predict_dialogue(dialogue)
    explicit = model.predict(dialogue, context=dialogue_context(dialogue, model.context_window))
    assert [r.emotion_scores for r in in_dialogue] == [r.emotion_scores for r in explicit]
    assert in_dialogue[0].emotion_scores == alone[0].emotion_scores  # the first line has no context
    one_by_one = [model.predict([t])[0] for t in dialogue]
    for a, b in zip(alone, one_by_one, strict=True):
        for k in EMOTIONS:
            assert a.emotion_scores[k] == pytest.approx(b.emotion_scores[k], abs=2e-3)
    with pytest.raises(ValueError):
        model.predict(dialogue, context=[[]])


def test_adapter_works_on_a_copy(minilm):
    before = minilm.encode(["a quiet sentence"])
    adapter = LoraAdapter(2, 4.0, {"encoder.layer.5.output.dense": (
        np.full((2, 1536), 0.01, np.float32), np.full((384, 2), 0.01, np.float32))})
    adapted = adapt_encoder(minilm, adapter)
    assert not np.allclose(adapted.encode(["a quiet sentence"]), before)
    assert np.array_equal(minilm.encode(["a quiet sentence"]), before)  # the shared model is untouched
    assert adapt_encoder(minilm, None) is minilm


def test_fast_encoder_matches_sentence_transformers(minilm):
    import copy

    from sensorium.emotion.encoder import FastEncoder

    texts = ["Okay.", "I am so happy, this is wonderful and I cannot believe it happened to us today!",
             "What?", *(f"sentence number {i} " + "word " * (i % 17) for i in range(70))]
    ref = minilm.encode(texts)
    fast = FastEncoder(copy.deepcopy(minilm.model), token_budget=256)
    assert len(fast.batches([3, 40, 5, 12], 2)) == 2 and len(fast.batches([200, 200], 8)) == 2
    got = fast.encode(texts, batch_size=16)
    assert got.shape == ref.shape and np.allclose(got, ref, atol=2e-5)
    assert np.allclose(fast.encode(texts[:3]), ref[:3], atol=2e-5) and fast.encode([]).shape == (0, 384)
    int8 = FastEncoder(copy.deepcopy(minilm.model), quantize=True).encode(texts)
    cos = (int8 * ref).sum(1)
    assert not np.allclose(int8, ref, atol=1e-4) and cos.min() > 0.7 and cos.mean() > 0.9
    assert np.allclose(minilm.encode(texts[:5]), ref[:5], atol=1e-5)  # the shared model is untouched


def test_soup_is_the_mean_of_the_merged_updates():
    rng = np.random.default_rng(0)
    names = ("encoder.layer.5.output.dense", "encoder.layer.4.attention.self.query")
    adapters = [LoraAdapter(r, 2.0 * r, {n: (rng.normal(size=(r, 6)).astype(np.float32),
                                            rng.normal(size=(5, r)).astype(np.float32)) for n in names})
                for r in (2, 2, 3)]
    soup = LoraAdapter.soup(adapters)
    assert soup.rank == 7 and soup.scale == pytest.approx(2.0)
    for n in names:
        mean = sum(a.scale * a.weights[n][1] @ a.weights[n][0] for a in adapters) / 3
        assert np.allclose(soup.scale * soup.weights[n][1] @ soup.weights[n][0], mean, atol=1e-5)
        assert not np.allclose(mean, adapters[0].scale * adapters[0].weights[n][1] @ adapters[0].weights[n][0])
    assert LoraAdapter.soup(adapters[:1]) is adapters[0]
    with pytest.raises(ValueError):
        LoraAdapter.soup([adapters[0], LoraAdapter(2, 4.0, {names[0]: adapters[0].weights[names[0]]})])


def test_meld_reading_and_context(meld: Path):
    rows = read_meld(meld / "dev_sent_emo.csv")
    assert len(rows) > 1000
    assert all("\u2019" not in r.text for r in rows)
    assert [(r.dialogue, r.utterance) for r in rows] == sorted((r.dialogue, r.utterance) for r in rows)
    ctx = row_contexts(rows, 2)
    assert ctx[0] == []
    for i in range(1, 50):
        expected = [rows[j].text for j in range(max(0, i - 2), i) if rows[j].dialogue == rows[i].dialogue]
        assert ctx[i] == expected


def test_training_is_deterministic_and_reports(meld: Path, minilm, tmp_path: Path):
    rows = read_meld(meld / "train_sent_emo.csv", limit=96)
    dev = read_meld(meld / "dev_sent_emo.csv", limit=48)
    calls: list[tuple[float, str]] = []
    a = train_text_emotion(rows, dev, minilm, tmp_path / "a",
                           TrainConfig(seed=3, finetune_epochs=1, context_window=2, folds=2),
                           lambda f, m: calls.append((f, m)))
    train_text_emotion(rows, dev, minilm, tmp_path / "b",
                       TrainConfig(seed=3, finetune_epochs=1, context_window=2, folds=2))
    texts, emos, sents = [r.text for r in rows], [r.emotion for r in rows], [r.sentiment for r in rows]
    mine = train_lora(texts, emos, sents, minilm, LoraConfig(seed=3, epochs=1))
    other = train_lora(texts, emos, sents, minilm, LoraConfig(seed=4, epochs=1))
    for name in (HEAD_FILE, ADAPTER_FILE):
        with np.load(tmp_path / "a" / name) as za, np.load(tmp_path / "b" / name) as zb:
            assert za.files == zb.files
            for key in za.files:
                assert np.array_equal(za[key], zb[key]), key
    saved = LoraAdapter.load(tmp_path / "a" / ADAPTER_FILE)  # the command's seed-3 adapter, stored as float16
    assert saved.weights.keys() == mine.weights.keys() == other.weights.keys()
    for k in mine.weights:
        for got, want in zip(saved.weights[k], mine.weights[k], strict=True):
            assert got.dtype == np.float32 and np.allclose(got, want, rtol=1e-3, atol=1e-6), k
    assert any(not np.array_equal(mine.weights[k][0], other.weights[k][0]) for k in mine.weights)
    assert calls and calls[-1][0] == 1.0 and all(0 <= f <= 1 for f, _ in calls)
    # --seeds 3,4: each seed's adapter trained exactly as alone, then averaged into one (the soup)
    soup = train_adapter(rows, minilm, TrainConfig(seed=3, seeds=(3, 4), finetune_epochs=1))
    expected = LoraAdapter.soup([mine, other])
    assert soup.rank == 2 * mine.rank and soup.weights.keys() == expected.weights.keys()
    for k in soup.weights:
        assert np.array_equal(soup.weights[k][0], expected.weights[k][0])
        assert np.array_equal(soup.weights[k][1], expected.weights[k][1])

    report = json.loads((tmp_path / "a" / "report.json").read_text())
    assert report == json.loads(json.dumps(a.report))
    for task, labels in (("emotion", EMOTIONS), ("sentiment", SENTIMENTS)):
        m = report[task]
        assert {"accuracy", "weighted_f1", "macro_f1", "per_class_f1", "confusion_matrix", "support"} <= set(m)
        assert list(m["per_class_f1"]) == list(labels)
        cm = np.array(m["confusion_matrix"])
        assert cm.shape == (len(labels), len(labels)) and cm.sum() == len(dev)
        assert 0 <= m["accuracy"] <= 1 and 0 <= m["weighted_f1"] <= 1
        assert m["accuracy"] == pytest.approx(np.trace(cm) / cm.sum(), abs=1e-4)
    assert report["speed"]["utterances_per_second"] > 0
    assert report["encoder"] == "minilm+lora" and report["train_rows"] == 96

    trained = load_text_emotion_model(minilm, tmp_path / "a")
    assert trained.context_window == 2 and len(trained.predict(["fine", "great"])) == 2


def test_train_command(meld: Path, tmp_path: Path, monkeypatch):
    from typer.testing import CliRunner

    from sensorium.cli.train import train_app

    dev = tmp_path / "dev.csv"
    with open(meld / "dev_sent_emo.csv", encoding="utf-8", newline="") as src, open(dev, "w", newline="") as dst:
        reader = csv.reader(src)
        writer = csv.writer(dst)
        for i, row in enumerate(reader):
            if i <= 40:
                writer.writerow(row)
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("LOG_DIR", str(tmp_path / "logs"))
    out = tmp_path / "model"
    result = CliRunner().invoke(train_app, ["text-emotion", "--train", str(meld / "train_sent_emo.csv"),
                                            "--dev", str(dev), "--out", str(out), "--frozen", "--limit", "80",
                                            "--json"])
    assert result.exit_code == 0, result.output
    assert (out / HEAD_FILE).is_file() and not (out / ADAPTER_FILE).exists()
    assert "weighted F1" in (out / "report.md").read_text()
    report = json.loads((out / "report.json").read_text())
    assert report["encoder"] == "minilm" and report["emotion"]["n"] == 40

    bad = tmp_path / "bad.csv"
    bad.write_text("Utterance,Emotion\nhello,joy\n")
    result = CliRunner().invoke(train_app, ["text-emotion", "--train", str(bad), "--dev", str(dev),
                                            "--out", str(out)])
    assert result.exit_code == 2
    result = CliRunner().invoke(train_app, ["text-emotion", "--train", str(meld / "train_sent_emo.csv"),
                                            "--dev", str(dev), "--out", str(out), "--seeds", "a,b"])
    assert result.exit_code == 2 and "bad --seeds" in result.output
