"""The trainable multimodal network (MiniLM text + 3D-CNN video + audio CNN): shapes at the original's sizes,
overfitting a tiny generated MELD-format dataset, determinism, prediction from a checkpoint, the
`train multimodal` command, and bad inputs (missing CSV, missing columns, missing and corrupt clips)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import yaml

from sensorium.emotion.multimodal.config import MultimodalConfig, load_config
from sensorium.emotion.multimodal.data import ClipSet, augment, batches, prepare, read_rows
from sensorium.emotion.multimodal.network import FEATURE_DIM, build_network
from sensorium.emotion.multimodal.predict import load_multimodal
from sensorium.emotion.multimodal.training import BEST_CHECKPOINT, CHECKPOINT, REPORT, train_multimodal
from sensorium.emotion.text_model import EMOTIONS, SENTIMENTS
from sensorium.errors import ErrorCode, SensoriumError
from sensorium.models.text_embedding import MINILM
from testkit.meld_clips import Clip, make_dataset, write_clip, write_csv
from testkit.settings import REPO

#: small sizes that train in seconds (the defaults stay the original's: 30 x 224 x 224, 64 mels x 300 steps)
SMALL = dict(frames=8, image_size=64, steps=32, batch_size=4, lr=3e-3, encoder_lr=3e-3, schedule="none",
             label_smoothing=0.0, threads=1)


@pytest.fixture(scope="module")
def minilm(services):
    with services.registry.use(MINILM) as model:
        yield model


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, list[Clip]]:
    """8 clips of 1.2 s, 3 emotions told apart by picture and tone; all say the same words ("Okay.")."""
    return make_dataset(tmp_path_factory.mktemp("meld"))


@pytest.fixture(scope="module")
def trained(tiny, minilm, tmp_path_factory: pytest.TempPathFactory):
    csv_path, clips, _ = tiny
    cfg = MultimodalConfig(train_csv=csv_path, train_clips=clips, dev_csv=csv_path, dev_clips=clips,
                           output_dir=tmp_path_factory.mktemp("run"), epochs=8, **SMALL)
    return cfg, train_multimodal(cfg, minilm)


def test_forward_shapes_at_the_original_sizes(minilm):
    cfg = MultimodalConfig(train_csv=Path("x.csv"), train_clips=Path("clips"))
    assert (cfg.frames, cfg.image_size, cfg.mel_bins, cfg.steps) == (30, 224, 64, 300)
    torch.manual_seed(0)
    net, tokenizer = build_network(minilm, mel_bins=cfg.mel_bins, freeze_text=True, text_trainable_layers=2,
                                   dropout=cfg.dropout)
    net.eval()
    tok = tokenizer(["I can't believe it!", "Okay."], padding=True, return_tensors="pt")
    frames = torch.rand(2, cfg.frames, 3, cfg.image_size, cfg.image_size)
    mel = torch.randn(2, cfg.mel_bins, cfg.steps)
    with torch.no_grad():
        parts = [net.text(tok["input_ids"], tok["attention_mask"]), net.video(frames), net.audio(mel)]
        emotion, sentiment = net(tok["input_ids"], tok["attention_mask"], frames, mel)
    assert [tuple(p.shape) for p in parts] == [(2, FEATURE_DIM)] * 3  # concatenated: 384
    assert net.fusion[0].in_features == 3 * FEATURE_DIM == 384
    assert tuple(emotion.shape) == (2, len(EMOTIONS)) == (2, 7)
    assert tuple(sentiment.shape) == (2, len(SENTIMENTS)) == (2, 3)
    assert not any(p.requires_grad for p in net.text.backbone.parameters())  # frozen: only the projection learns
    assert any(isinstance(m, torch.nn.BatchNorm1d) for m in net.fusion)


def test_partially_trainable_text_keeps_the_registry_model_untouched(minilm):
    before = [p.requires_grad for p in minilm.model.parameters()]
    net, _ = build_network(minilm, mel_bins=64, freeze_text=False, text_trainable_layers=2, dropout=0.3)
    trainable = {n.split(".")[2] for n, p in net.text.backbone.named_parameters() if p.requires_grad}
    assert trainable == {"4", "5"}  # encoder.layer.4 / .5: the top 2 of 6
    assert net.text.backbone is not minilm.model[0].auto_model
    assert [p.requires_grad for p in minilm.model.parameters()] == before
    saved = net.saved_state()  # the trained top layers are checkpointed, the untrained ones come from MiniLM
    assert any(k.startswith("text.backbone.encoder.layer.5.") for k in saved)
    assert not any(k.startswith("text.backbone.encoder.layer.0.") for k in saved)
    names = {g["name"] for g in net.param_groups(1e-3, 1e-4, 1e-5)}
    assert names == {"text_backbone", "encoders", "fusion_heads"}


def test_overfits_a_tiny_generated_dataset(trained):
    cfg, result = trained
    report = result.report
    epochs = report["epochs"]
    assert len(epochs) == 8 and report["finished"] is True
    assert report["train_data"] == {"clips": 8, "skipped_missing": 0, "skipped_corrupt": 0, "no_audio": 0,
                                    "decoded_now": 8, "examples_missing": [], "examples_corrupt": []}
    final = report["final"]["train"]
    assert final["emotion"]["accuracy"] == 1.0 and final["sentiment"]["accuracy"] == 1.0
    assert final["emotion"]["weighted_f1"] == 1.0
    first, last = epochs[0]["train"]["loss"], epochs[-1]["train"]["loss"]
    assert last < first / 20, (first, last)
    assert epochs[-1]["dev"]["emotion"]["accuracy"] == 1.0
    assert report["pretrained"] == {"text": "all-MiniLM-L6-v2 (registry MINILM)", "video": None, "audio": None}
    assert (cfg.output_dir / CHECKPOINT).is_file() and (cfg.output_dir / BEST_CHECKPOINT).is_file()
    assert json.loads((cfg.output_dir / REPORT).read_text())["epochs"] == json.loads(json.dumps(epochs))


def test_training_is_deterministic(trained, minilm, tmp_path: Path):
    cfg, result = trained
    again = train_multimodal(cfg.model_copy(update={"epochs": 2, "output_dir": tmp_path,
                                                    "cache_dir": cfg.output_dir / "cache"}), minilm)
    assert again.report["train_data"]["decoded_now"] == 0  # every clip came from the .npz cache
    for a, b in zip(again.report["epochs"], result.report["epochs"][:2], strict=False):
        assert a["train_loss"] == b["train_loss"] and a["train"] == b["train"]


def test_predict_one_clip_from_the_checkpoint(trained, tiny, minilm):
    cfg, _ = trained
    _, clips, written = tiny
    model = load_multimodal(cfg.output_dir / CHECKPOINT, minilm)
    for clip in (written[0], written[3], written[-1]):
        p = model.predict(clips / clip.name, clip.text)
        assert p.emotion == clip.emotion and p.sentiment == clip.sentiment
        assert set(p.emotion_scores) == set(EMOTIONS) and set(p.sentiment_scores) == set(SENTIMENTS)
        assert p.emotion_scores[clip.emotion] == max(p.emotion_scores.values())
        assert abs(sum(p.emotion_scores.values()) - 1) < 1e-3 and p.has_audio
    with pytest.raises(SensoriumError) as err:
        load_multimodal(cfg.output_dir / "nope.pt", minilm)
    assert err.value.code == ErrorCode.NOT_FOUND


def test_partial_text_finetuning_class_weights_and_plateau(tiny, minilm, tmp_path: Path):
    """The other options in one short run: top 2 MiniLM layers trained, class weights, plateau schedule
    without a dev set (it follows the train loss); the checkpoint keeps the trained layers only."""
    csv_path, clips, written = tiny
    cfg = MultimodalConfig(train_csv=csv_path, train_clips=clips, output_dir=tmp_path, epochs=2, eval_train=False,
                           **{**SMALL, "schedule": "plateau"}, freeze_text=False, class_weights=True)
    result = train_multimodal(cfg, minilm)
    assert [e["train"] for e in result.report["epochs"]] == [None, None] and result.best_checkpoint is None
    assert result.report["trainable_parameters"] > 550_202  # + MiniLM's top two layers
    model = load_multimodal(result.checkpoint, minilm)
    base = dict(minilm.model[0].auto_model.named_parameters())
    tuned = dict(model.net.text.backbone.named_parameters())
    name5, name0 = "encoder.layer.5.output.dense.weight", "encoder.layer.0.output.dense.weight"
    assert not torch.equal(tuned[name5], base[name5]) and torch.equal(tuned[name0], base[name0])
    p = model.predict(clips / written[0].name, written[0].text)
    assert p.emotion in EMOTIONS and p.sentiment in SENTIMENTS


def test_missing_corrupt_and_silent_clips_are_skipped_or_counted(tiny, tmp_path: Path):
    csv_path, clips, written = tiny
    folder = tmp_path / "clips"
    folder.mkdir()
    for clip in written[:3]:
        (folder / clip.name).write_bytes((clips / clip.name).read_bytes())
    silent = Clip(5, 0, "joy", "positive", "Hi.")
    write_clip(folder / silent.name, "joy", audio=False, seed=7)
    corrupt = Clip(6, 0, "anger", "negative", "No!")
    (folder / corrupt.name).write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 8)
    missing = Clip(7, 0, "sadness", "negative", "Oh.")
    rows = read_rows(write_csv(tmp_path / "rows.csv", [*written[:3], silent, corrupt, missing]))
    cfg = MultimodalConfig(train_csv=tmp_path / "rows.csv", train_clips=folder, output_dir=tmp_path / "out", **SMALL)
    got = prepare(rows, folder, cfg)
    assert isinstance(got, ClipSet) and len(got.rows) == 4 and got.no_audio == 1
    assert got.missing == ["dia7_utt0"] and got.corrupt == ["dia6_utt0"]
    assert all(f.is_file() for f in got.files)


def test_bad_csvs_and_configs_give_clear_errors(tiny, minilm, tmp_path: Path):
    csv_path, clips, _ = tiny
    no_cols = tmp_path / "cols.csv"
    no_cols.write_text("Utterance,Emotion\nhello,joy\n")
    with pytest.raises(SensoriumError, match="missing MELD column.*Sentiment, Dialogue_ID, Utterance_ID"):
        read_rows(no_cols)
    bad_label = tmp_path / "label.csv"
    bad_label.write_text("Utterance,Emotion,Sentiment,Dialogue_ID,Utterance_ID\nhello,bored,neutral,0,0\n")
    with pytest.raises(SensoriumError, match="unknown label 'bored'"):
        read_rows(bad_label)
    cfg = MultimodalConfig(train_csv=tmp_path / "absent.csv", train_clips=clips, output_dir=tmp_path / "o", **SMALL)
    with pytest.raises(SensoriumError, match="train_csv: no such file") as err:
        train_multimodal(cfg, minilm)
    assert err.value.code == ErrorCode.NOT_FOUND
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(SensoriumError, match=r"only 0 usable training clip\(s\) of 8 rows .*8 missing"):
        train_multimodal(cfg.model_copy(update={"train_csv": csv_path, "train_clips": empty}), minilm)

    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump({"train_csv": "a.csv", "train_clips": "clips", "epoch": 3}))
    with pytest.raises(SensoriumError, match="epoch: Extra inputs are not permitted"):
        load_config(path)
    path.write_text(yaml.safe_dump({"train_csv": "a.csv", "train_clips": "clips", "dev_csv": "d.csv"}))
    with pytest.raises(SensoriumError, match="dev_csv and dev_clips go together"):
        load_config(path)
    with pytest.raises(SensoriumError, match="config file not found"):
        load_config(tmp_path / "none.yaml")


def test_example_config_loads_with_the_original_sizes():
    cfg = load_config(REPO / "configs" / "multimodal.example.yaml")
    assert (cfg.frames, cfg.image_size, cfg.mel_bins, cfg.steps, cfg.device) == (30, 224, 64, 300, "cpu")
    assert cfg.train_csv == (REPO / "data" / "meld" / "train" / "train_sent_emo.csv").resolve()


def test_augmentation_and_batches_are_seeded():
    frames = torch.rand(4, 3, 32, 32)
    a = augment(frames, 0.8, True, torch.Generator().manual_seed(1))
    b = augment(frames, 0.8, True, torch.Generator().manual_seed(1))
    assert a.shape == frames.shape and torch.equal(a, b)
    flipped = augment(frames, 1.0, True, torch.Generator().manual_seed(0))
    assert torch.equal(flipped, frames) or torch.equal(flipped, frames.flip(-1))
    assert batches(9, 4) == [[0, 1, 2, 3], [4, 5, 6, 7, 8]]  # a last batch of one joins the one before
    assert sorted(sum(batches(9, 4, torch.Generator().manual_seed(0)), [])) == list(range(9))


def test_train_multimodal_command(tiny, tmp_path: Path, monkeypatch):
    from typer.testing import CliRunner

    from sensorium.cli.train import train_app

    csv_path, clips, _ = tiny
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("LOG_DIR", str(tmp_path / "logs"))
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(yaml.safe_dump({"train_csv": str(csv_path), "train_clips": str(clips), "output_dir": "run",
                                   **SMALL, "epochs": 5}))
    result = CliRunner().invoke(train_app, ["multimodal", "--config", str(cfg), "--epochs", "2", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "run" / REPORT).read_text())
    assert len(report["epochs"]) == 2 and report["config"]["frames"] == 8 and report["dev_data"] is None
    assert report["train_data"]["clips"] == 8 and (tmp_path / "run" / CHECKPOINT).is_file()

    cfg.write_text(yaml.safe_dump({"train_csv": "missing.csv", "train_clips": str(clips)}))
    result = CliRunner().invoke(train_app, ["multimodal", "--config", str(cfg)])
    assert result.exit_code == 2 and "train_csv: no such file" in result.output
