"""Where model weights come from.

Order, for every model: an explicit path (MODEL_PATHS), each folder of MODEL_DIRS, MODEL_CACHE_DIR,
an installed model package, and — only when ALLOW_DOWNLOADS=true — a download into the cache.

MODEL_DIRS folders, the cache and a mirror share one layout (`<dir>/yolox-nano/yolox_nano.onnx`,
`<dir>/yamnet/yamnet.tflite`, `<dir>/whisper-small/model.bin`, ...), so what
`sensorium models pull` writes into MODEL_CACHE_DIR is found here without further settings. The
download step (ALLOW_DOWNLOADS=true) is the same verified pull (`models/pull.py`), for one model.
"""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Callable, Sequence
from pathlib import Path

from sensorium.config import Settings

log = logging.getLogger(__name__)


class WeightsNotFound(Exception):
    """No location in the search order holds the weights."""


def package_path(module: str, *parts: str) -> Path | None:
    """Folder (or file) inside an installed package, without importing the package."""
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    if spec.submodule_search_locations:
        base = Path(next(iter(spec.submodule_search_locations)))
    elif spec.origin:
        base = Path(spec.origin).parent
    else:  # pragma: no cover
        return None
    path = base.joinpath(*parts)
    return path if path.exists() else None


class Resolver:
    def __init__(self, settings: Settings, *, downloads: bool | None = None) -> None:
        self.settings = settings
        self.downloads = settings.allow_downloads if downloads is None else downloads

    def offline(self) -> Resolver:
        """The same search order without the download step (for status checks)."""
        return Resolver(self.settings, downloads=False)

    @property
    def cache_dir(self) -> Path:
        return self.settings.model_cache_dir

    def search_dirs(self) -> list[Path]:
        return [*self.settings.model_dirs, self.cache_dir]

    def find(
        self,
        name: str,
        candidates: Sequence[str],
        *,
        check: Callable[[Path], bool] = Path.exists,
        packages: Sequence[tuple[str, str]] = (),
        download: Callable[[Path], Path] | None = None,
    ) -> Path:
        """First existing location of `name`.

        candidates: relative paths tried under each MODEL_DIRS folder and the cache
        (e.g. ``"yamnet/yamnet.tflite"``). packages: (module, relative path) pairs.
        download: called with the cache folder when everything else failed and downloads are on;
        without it, a model that `sensorium models pull` knows is pulled into the cache.
        """
        tried: list[str] = []
        explicit = self.settings.model_paths.get(name)
        if explicit is not None:
            tried.append(str(explicit))
            if check(explicit):
                return explicit
            # a folder given explicitly may hold the candidate files
            for rel in candidates:
                p = explicit / Path(rel).name
                if check(p):
                    return p
        for base in self.search_dirs():
            for rel in candidates:
                p = base / rel
                tried.append(str(p))
                if check(p):
                    return p
        for module, rel in packages:
            p = package_path(module, *Path(rel).parts) if rel else package_path(module)
            tried.append(f"package {module}/{rel}")
            if p is not None and check(p):
                return p
        if self.downloads:
            found = self._download(name, candidates, check, download)
            if found is not None:
                return found
        where = ", ".join(tried[:6]) + (" ..." if len(tried) > 6 else "")
        raise WeightsNotFound(f"weights not found (looked in {where})")

    def _download(
        self, name: str, candidates: Sequence[str], check: Callable[[Path], bool],
        download: Callable[[Path], Path] | None,
    ) -> Path | None:
        target = self.cache_dir
        if download is not None:
            target.mkdir(parents=True, exist_ok=True)
            log.warning("downloading weights of %s into %s (ALLOW_DOWNLOADS=true)", name, target)
            p = download(target)
            return p if check(p) else None
        if self.pull(name):
            for rel in candidates:
                p = target / rel
                if check(p):
                    return p
        return None

    def pull(self, name: str) -> bool:
        """Pull model `name` into the cache (verified); False when no download is known for it."""
        from sensorium.models.manifest import bundle
        from sensorium.models.pull import Puller, PullError

        b = bundle(name)
        if b is None:
            return False
        log.warning("pulling %s into %s (ALLOW_DOWNLOADS=true)", name, self.cache_dir)
        try:
            with Puller(self.cache_dir, mirror=self.settings.model_mirror_url) as puller:
                result = puller.pull(b)
        except PullError as exc:  # e.g. a malformed MODEL_MIRROR_URL
            raise WeightsNotFound(f"download failed: {exc}") from exc
        if result.error:
            raise WeightsNotFound(f"download failed: {result.error}")
        return True


__all__ = ["Resolver", "WeightsNotFound", "package_path"]
