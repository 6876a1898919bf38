from __future__ import annotations

from pathlib import Path

import pytest

from sensorium.config import Settings
from sensorium.store.files import Workspace, sanitize_filename

REPO = Path(__file__).resolve().parents[2]


def test_env_example_lists_every_setting() -> None:
    text = (REPO / ".env.example").read_text()
    keys = {line.split("=", 1)[0] for line in text.splitlines() if line and not line.startswith("#")}
    fields = {name.upper() for name in Settings.model_fields}
    assert fields - keys == set(), "settings missing from .env.example (run scripts/gen_env_example.py)"
    assert keys - fields == set(), "stale keys in .env.example"


def test_settings_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MODEL_DIRS", f"{tmp_path}/a,{tmp_path}/b")
    monkeypatch.setenv("CORS_ORIGINS", "http://localhost:3000,https://studio.example")
    monkeypatch.setenv("MODEL_PATHS", '{"yamnet": "/opt/yamnet"}')
    monkeypatch.setenv("WHISPER_MODEL_SIZE", "base")
    monkeypatch.setenv("MAX_UPLOAD_SIZE_MB", "20")
    s = Settings(_env_file=None)  # type: ignore[call-arg]
    assert s.model_dirs == [tmp_path / "a", tmp_path / "b"]
    assert s.cors_origins == ["http://localhost:3000", "https://studio.example"]
    assert s.model_paths == {"yamnet": Path("/opt/yamnet")}
    assert s.whisper_model_size == "base"
    # per-kind limits never exceed the global cap
    assert s.limit_bytes("video") == 20 * 1024 * 1024
    assert s.limit_bytes("image") == 10 * 1024 * 1024
    assert s.db_url.startswith("sqlite:///")


def test_settings_reject_bad_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WHISPER_MODEL_SIZE", "large")
    with pytest.raises(Exception, match="whisper_model_size"):
        Settings(_env_file=None)  # type: ignore[call-arg]


@pytest.mark.parametrize(
    "name, expected",
    [
        ("../../etc/passwd", "passwd"),
        ("..\\..\\windows\\system32\\cmd.exe", "cmd.exe"),
        ("/abs/path/clip.wav", "clip.wav"),
        ("..", "upload"),
        ("", "upload"),
        (None, "upload"),
        ("a\x00b\nc.mp3", "abc.mp3"),
        ("  .hidden.wav", "hidden.wav"),
        ("voix été.mp3", "voix été.mp3"),
        ("x" * 300 + ".wav", "x" * 116 + ".wav"),
        ("semi;colon|pipe$.wav", "semi_colon_pipe_.wav"),
    ],
)
def test_sanitize_filename(name: str | None, expected: str) -> None:
    safe = sanitize_filename(name)
    assert safe == expected
    assert "/" not in safe and "\\" not in safe and safe not in (".", "..")


def test_workspace_is_removed_even_on_error(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), Workspace(tmp_path) as ws:
        p = ws.new_path("../../evil.wav")
        p.write_bytes(b"x")
        assert p.parent == ws.path
        raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_readme_documents_every_setting_and_the_ci_command() -> None:
    readme = (REPO / "README.md").read_text()
    missing = [n.upper() for n in Settings.model_fields if f"`{n.upper()}`" not in readme]
    assert missing == []
    ci = (REPO / ".ci" / "run").read_text()
    assert "bash scripts/setup.sh test" in ci and "bash scripts/setup.sh test" in readme
    assert "bash scripts/setup.sh serve" in readme
