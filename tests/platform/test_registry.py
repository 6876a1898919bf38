from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from sensorium.errors import ErrorCode, SensoriumError
from sensorium.models.registry import ModelRegistry, ModelSpec
from sensorium.models.resolver import Resolver, WeightsNotFound
from sensorium.models.whisper import assemble_split_base, is_ct2_dir
from testkit.settings import make_settings


class Counter:
    def __init__(self) -> None:
        self.loads = 0
        self.unloads = 0


def _spec(tmp: Path, counter: Counter, name: str = "toy", fail: bool = False, delay: float = 0.0) -> ModelSpec:
    weights = tmp / "models" / name / "weights.txt"

    def locate(resolver: Resolver) -> Path:
        return resolver.find(name, [f"{name}/weights.txt"])

    def load(path: Path, settings):
        time.sleep(delay)
        counter.loads += 1
        if fail:
            raise ValueError("corrupt weights")
        return {"weights": path.read_text(), "id": counter.loads}

    def unload(instance) -> None:
        counter.unloads += 1

    weights.parent.mkdir(parents=True, exist_ok=True)
    return ModelSpec(name=name, task="toy", description="a toy model", license="MIT", source="test",
                     install_hint=f"put weights.txt in MODEL_DIRS/{name}", locate=locate, load=load,
                     unload=unload)


def test_lazy_shared_load_across_threads(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, model_dirs=[tmp_path / "models"], model_ttl_seconds=-1)
    counter = Counter()
    reg = ModelRegistry(settings)
    reg.register(_spec(tmp_path, counter, delay=0.2))
    (tmp_path / "models" / "toy" / "weights.txt").write_text("w1")
    assert not reg.is_loaded("toy") and counter.loads == 0  # nothing at start-up
    seen: list[int] = []

    def worker() -> None:
        with reg.use("toy") as m:
            seen.append(id(m))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert counter.loads == 1 and len(set(seen)) == 1
    assert reg.status("toy")["loaded"] is True


def test_missing_weights_give_model_not_loaded_with_hint_and_recover(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, model_dirs=[tmp_path / "models"])
    counter = Counter()
    reg = ModelRegistry(settings)
    reg.register(_spec(tmp_path, counter, name="absent"))
    st = reg.status("absent")
    assert st["available"] is False and "MODEL_DIRS/absent" in st["install_hint"]
    with pytest.raises(SensoriumError) as exc:
        reg.get("absent")
    assert exc.value.code == ErrorCode.MODEL_NOT_LOADED
    assert "put weights.txt in MODEL_DIRS/absent" in exc.value.message
    # installing the weights fixes the next call without a restart
    (tmp_path / "models" / "absent" / "weights.txt").write_text("now here")
    assert reg.get("absent")["weights"] == "now here"


def test_broken_weights_are_not_cached(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, model_dirs=[tmp_path / "models"])
    counter = Counter()
    reg = ModelRegistry(settings)
    reg.register(_spec(tmp_path, counter, name="broken", fail=True))
    (tmp_path / "models" / "broken" / "weights.txt").write_text("x")
    for _ in range(2):
        with pytest.raises(SensoriumError) as exc:
            reg.get("broken")
        assert exc.value.code == ErrorCode.MODEL_NOT_LOADED and "corrupt weights" in exc.value.message
    assert counter.loads == 2
    assert reg.status("broken")["last_error"].startswith("ValueError")


def test_idle_ttl_unloads_but_not_while_in_use(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, model_dirs=[tmp_path / "models"], model_ttl_seconds=0.3)
    counter = Counter()
    reg = ModelRegistry(settings)
    reg.register(_spec(tmp_path, counter))
    (tmp_path / "models" / "toy" / "weights.txt").write_text("w")
    with reg.use("toy"):
        time.sleep(0.4)
        assert reg.reap() == []  # pinned while in use
    time.sleep(0.4)
    assert reg.reap() == ["toy"]
    assert counter.unloads == 1 and not reg.is_loaded("toy")
    reg.get("toy")
    assert counter.loads == 2  # loaded again on the next use


def test_ttl_zero_unloads_after_use_and_minus_one_never(tmp_path: Path) -> None:
    for ttl, expect_loaded in ((0, False), (-1, True)):
        settings = make_settings(tmp_path, model_dirs=[tmp_path / "models"], model_ttl_seconds=ttl)
        counter = Counter()
        reg = ModelRegistry(settings)
        reg.register(_spec(tmp_path, counter))
        (tmp_path / "models" / "toy" / "weights.txt").write_text("w")
        with reg.use("toy"):
            pass
        reg.reap()
        assert reg.is_loaded("toy") is expect_loaded


def test_resolver_order_explicit_dirs_cache(tmp_path: Path) -> None:
    explicit = tmp_path / "explicit" / "m.bin"
    in_dir = tmp_path / "dir" / "m" / "m.bin"
    in_cache = tmp_path / "cache" / "m" / "m.bin"
    for p in (explicit, in_dir, in_cache):
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(str(p))
    s = make_settings(tmp_path, model_dirs=[tmp_path / "dir"], model_cache_dir=tmp_path / "cache",
                      model_paths={"m": explicit})
    assert Resolver(s).find("m", ["m/m.bin"]) == explicit
    s = make_settings(tmp_path, model_dirs=[tmp_path / "dir"], model_cache_dir=tmp_path / "cache")
    assert Resolver(s).find("m", ["m/m.bin"]) == in_dir
    s = make_settings(tmp_path, model_dirs=[], model_cache_dir=tmp_path / "cache")
    assert Resolver(s).find("m", ["m/m.bin"]) == in_cache
    s = make_settings(tmp_path, model_dirs=[], model_cache_dir=tmp_path / "empty")
    called = []
    with pytest.raises(WeightsNotFound):  # downloads are off: the downloader is never called
        Resolver(s).find("m", ["m/m.bin"], download=lambda d: called.append(d) or d)
    assert called == []


def test_split_whisper_base_is_assembled_once(tmp_path: Path) -> None:
    target = assemble_split_base(tmp_path)
    assert is_ct2_dir(target)
    mtime = (target / "model.bin").stat().st_mtime_ns
    assert assemble_split_base(tmp_path) == target
    assert (target / "model.bin").stat().st_mtime_ns == mtime  # not rebuilt
