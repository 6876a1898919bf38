"""Model registry: lazy load on first use, one shared instance, idle unload.

A model family module declares a `ModelSpec` (name, licence, where the weights come from, how
to load) and a typed `ModelKey` for it. Callers never load models themselves:

    with registry.use(WHISPER_TINY) as model:      # ModelKey[WhisperModel] -> a WhisperModel
        model.transcribe(...)

The optional OpenAI-compatible vision endpoint is held here too (`registry.vision_llm()`): one
client per process, built on first use, so no capability builds its own.

* Loading happens once, under a per-model lock; concurrent first users wait for the same load.
* A reference count keeps a model alive while in use; after MODEL_TTL_SECONDS idle the reaper
  thread unloads it (-1 never, 0 as soon as the last user is done).
* A load failure (missing weights, broken file, missing package) raises
  `SensoriumError(MODEL_NOT_LOADED)` with the spec's install hint; it is not cached, so installing
  the weights fixes the next request without a restart.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

from sensorium.config import Settings
from sensorium.errors import ErrorCode, SensoriumError
from sensorium.models.resolver import Resolver, WeightsNotFound

if TYPE_CHECKING:
    from sensorium.models.llm import VisionLLM

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class ModelKey(Generic[T]):
    """A model's registry name, typed with what its loader returns."""

    name: str

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class ModelSpec:
    """What a model is and how to get it. `load(path, settings)` returns the ready model."""

    name: str
    task: str
    description: str
    license: str
    source: str  # human-readable: where the weights come from
    install_hint: str  # what to do when missing
    locate: Callable[[Resolver], Path]  # raises WeightsNotFound
    load: Callable[[Path, Settings], Any]
    unload: Callable[[Any], None] | None = None
    capabilities: tuple[str, ...] = ()
    check: Callable[[Resolver], Path] | None = None  # cheap availability test (default: locate)
    optional: bool = False  # fetched only on request (e.g. whisper-small): absent != degraded


@dataclass
class _Slot:
    spec: ModelSpec
    lock: threading.Lock = field(default_factory=threading.Lock)
    instance: Any = None
    path: Path | None = None
    refs: int = 0
    last_used: float = 0.0
    load_seconds: float | None = None
    loads: int = 0
    last_error: str | None = None


class ModelRegistry:
    def __init__(self, settings: Settings, resolver: Resolver | None = None) -> None:
        self.settings = settings
        self.resolver = resolver or Resolver(settings)
        self._slots: dict[str, _Slot] = {}
        self._guard = threading.Lock()
        self._stop = threading.Event()
        self._reaper: threading.Thread | None = None
        self.on_load: list[Callable[[str, float], None]] = []
        self._llm: VisionLLM | None = None

    # -- declaration -------------------------------------------------------------
    def register(self, spec: ModelSpec) -> None:
        with self._guard:
            if spec.name in self._slots:
                raise ValueError(f"model {spec.name!r} registered twice")
            self._slots[spec.name] = _Slot(spec)

    def specs(self) -> list[ModelSpec]:
        return [s.spec for s in self._slots.values()]

    def spec(self, name: str) -> ModelSpec:
        return self._slot(name).spec

    def _slot(self, name: str) -> _Slot:
        try:
            return self._slots[name]
        except KeyError:
            raise SensoriumError(ErrorCode.MODEL_NOT_LOADED, f"Unknown model {name!r}.") from None

    # -- state -------------------------------------------------------------------
    def is_loaded(self, name: str) -> bool:
        return self._slot(name).instance is not None

    def locate(self, name: str) -> Path | None:
        """Where the weights are, or None when absent (never downloads)."""
        try:
            spec = self._slot(name).spec
            return (spec.check or spec.locate)(self.resolver.offline())
        except WeightsNotFound:
            return None

    def status(self, name: str, *, check: bool = True) -> dict[str, Any]:
        slot = self._slot(name)
        spec = slot.spec
        path = slot.path if slot.instance is not None else (self.locate(name) if check else None)
        return {
            "name": spec.name,
            "task": spec.task,
            "description": spec.description,
            "license": spec.license,
            "source": spec.source,
            "available": path is not None,
            "loaded": slot.instance is not None,
            "path": str(path) if path else None,
            "load_seconds": round(slot.load_seconds, 3) if slot.load_seconds is not None else None,
            "last_error": slot.last_error,
            "install_hint": None if path else spec.install_hint,
        }

    def loaded_names(self) -> list[str]:
        return [n for n, s in self._slots.items() if s.instance is not None]

    # -- the optional vision endpoint ---------------------------------------------------
    def vision_llm(self) -> VisionLLM | None:
        """The configured OpenAI-compatible vision client (shared), or None when none is configured."""
        if not self.settings.llm_configured:
            return None
        with self._guard:
            if self._llm is None:
                from sensorium.models.llm import VisionLLM

                self._llm = VisionLLM.from_settings(self.settings)
            return self._llm

    # -- use -----------------------------------------------------------------------
    @overload
    def get(self, name: ModelKey[T]) -> T: ...
    @overload
    def get(self, name: str) -> Any: ...

    def get(self, name: ModelKey[Any] | str) -> Any:
        """Load (if needed) and return the instance. Prefer `use()`, which pins it."""
        slot = self._slot(str(name))
        if slot.instance is not None:
            slot.last_used = time.monotonic()
            return slot.instance
        with slot.lock:
            if slot.instance is None:
                self._load(slot)
            slot.last_used = time.monotonic()
            return slot.instance

    @overload
    def use(self, name: ModelKey[T]) -> AbstractContextManager[T]: ...
    @overload
    def use(self, name: str) -> AbstractContextManager[Any]: ...

    def use(self, name: ModelKey[Any] | str) -> AbstractContextManager[Any]:
        """Load (if needed), pin while the `with` block runs, release after."""
        return self._use(self._slot(str(name)))

    @contextmanager
    def _use(self, slot: _Slot) -> Iterator[Any]:
        with slot.lock:
            if slot.instance is None:
                self._load(slot)
            slot.refs += 1
            instance = slot.instance
        try:
            yield instance
        finally:
            with slot.lock:
                slot.refs -= 1
                slot.last_used = time.monotonic()
            if self.settings.model_ttl_seconds == 0:
                self._maybe_unload(slot, idle_for=0)

    def _load(self, slot: _Slot) -> None:
        spec = slot.spec
        try:
            path = spec.locate(self.resolver)
        except WeightsNotFound as exc:
            slot.last_error = str(exc)
            raise SensoriumError(
                ErrorCode.MODEL_NOT_LOADED,
                f"Model {spec.name!r} ({spec.task}) is not available: {exc}. {spec.install_hint}",
                details={"model": spec.name, "install": spec.install_hint},
            ) from exc
        t0 = time.perf_counter()
        try:
            instance = spec.load(path, self.settings)
        except SensoriumError:
            raise
        except MemoryError as exc:
            raise SensoriumError(ErrorCode.OUT_OF_MEMORY, f"Out of memory loading {spec.name!r}.") from exc
        except Exception as exc:  # broken file, missing package, ...
            slot.last_error = f"{type(exc).__name__}: {exc}"
            log.exception("loading model %s from %s failed", spec.name, path)
            raise SensoriumError(
                ErrorCode.MODEL_NOT_LOADED,
                f"Model {spec.name!r} failed to load from {path}: {type(exc).__name__}: {exc}. "
                f"{spec.install_hint}",
                details={"model": spec.name, "install": spec.install_hint},
            ) from exc
        slot.load_seconds = time.perf_counter() - t0
        slot.instance, slot.path, slot.last_error = instance, path, None
        slot.loads += 1
        log.info("loaded model %s from %s in %.2fs", spec.name, path, slot.load_seconds)
        for cb in self.on_load:
            cb(spec.name, slot.load_seconds)

    def _maybe_unload(self, slot: _Slot, idle_for: float) -> bool:
        with slot.lock:
            if slot.instance is None or slot.refs > 0:
                return False
            if time.monotonic() - slot.last_used < idle_for:
                return False
            instance, slot.instance = slot.instance, None
        if slot.spec.unload:
            try:
                slot.spec.unload(instance)
            except Exception:  # pragma: no cover - best effort
                log.exception("unloading %s", slot.spec.name)
        del instance
        gc.collect()
        log.info("unloaded idle model %s", slot.spec.name)
        return True

    def unload(self, name: str) -> bool:
        return self._maybe_unload(self._slot(name), idle_for=0)

    def reap(self) -> list[str]:
        ttl = self.settings.model_ttl_seconds
        if ttl < 0:
            return []
        return [n for n, s in list(self._slots.items()) if self._maybe_unload(s, idle_for=ttl)]

    # -- lifecycle -------------------------------------------------------------------
    def start(self) -> None:
        ttl = self.settings.model_ttl_seconds
        if ttl < 0 or self._reaper is not None:
            return
        interval = max(0.5, min(30.0, ttl / 4 if ttl else 1.0))

        def loop() -> None:
            while not self._stop.wait(interval):
                self.reap()

        self._reaper = threading.Thread(target=loop, name="model-reaper", daemon=True)
        self._reaper.start()

    def close(self) -> None:
        self._stop.set()
        for name in list(self._slots):
            slot = self._slots[name]
            if slot.instance is not None and slot.refs == 0:
                self._maybe_unload(slot, idle_for=0)
