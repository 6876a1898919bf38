"""Which server folders the HTTP API may index: the library roots (DATA_DIR/libraries, SOUND_LIBRARY_DIR,
MUSIC_LIBRARY_DIR, LIBRARY_ROOTS), and how a requested folder is checked against them.

A folder outside the roots, missing, unreadable, not a folder, or a name the file system refuses all get
the same VALIDATION_ERROR, so the answer never tells whether a path outside the roots exists. Results
shown to API clients name folders relative to their root, never as absolute server paths.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePath

from sensorium.config import Settings
from sensorium.errors import ErrorCode, SensoriumError

#: the one answer for every folder the API may not index (the same whatever the reason)
REFUSED = ("`directory` must be an existing folder inside the folders this server indexes from: "
           "DATA_DIR/libraries (a relative path is taken there), SOUND_LIBRARY_DIR, MUSIC_LIBRARY_DIR or "
           "LIBRARY_ROOTS. Put the sounds there, or index any folder on the server with the CLI: "
           "`sensorium library index DIR --name NAME`.")


@dataclass(frozen=True)
class RootedFolder:
    """A folder to index, inside the library root named `root` (its setting) at `root_path`."""

    root: str
    root_path: Path
    folder: Path

    @property
    def relative(self) -> str:
        """The folder relative to its root (`.` for the root itself), as clients see it."""
        return self.folder.relative_to(self.root_path).as_posix() or "."


def refused() -> SensoriumError:
    return SensoriumError(ErrorCode.VALIDATION_ERROR, REFUSED, details={"param": "directory"})


def index_roots(settings: Settings) -> dict[str, Path]:
    """The library roots by the setting that names them, resolved (those that cannot be are left out)."""
    out: dict[str, Path] = {}
    for name, path in settings.index_roots().items():
        try:
            out[name] = path.expanduser().resolve()
        except (OSError, RuntimeError):
            continue
    return out


def resolve_folder(directory: str, settings: Settings, root: str | None = None) -> RootedFolder:
    """The existing folder `directory` names inside a library root, or the one VALIDATION_ERROR.

    A relative `directory` is taken inside `root` (a root's setting name) or DATA_DIR/libraries.
    Symbolic links are followed before the check, so a link out of the roots is refused too.
    """
    roots = index_roots(settings)
    text = directory.strip()
    if not text or "\x00" in text or not roots:
        raise refused()
    try:
        path = Path(text).expanduser()
        if not path.is_absolute():
            base = roots.get(root or "DATA_DIR/libraries")
            if base is None:
                raise refused()
            path = base / path
        folder = path.resolve(strict=True)
        is_dir = folder.is_dir()
    except (OSError, RuntimeError, ValueError):  # missing, too long, a loop, no such user for `~x`
        raise refused() from None
    inside = [(name, r) for name, r in roots.items() if folder.is_relative_to(r)]
    if not is_dir or not inside:
        raise refused()
    if root is not None and any(name == root for name, _ in inside):
        inside = [(name, r) for name, r in inside if name == root]
    name, root_path = inside[0]
    return RootedFolder(root=name, root_path=root_path, folder=folder)


def public_folder(path: str | None, settings: Settings) -> str | None:
    """A stored folder as API clients see it: relative to its library root, else only its name."""
    if not path:
        return path
    p = PurePath(path)
    for r in index_roots(settings).values():
        if p.is_relative_to(r):
            return p.relative_to(r).as_posix() or "."
    return p.name


def scrub(text: str, folder: Path) -> str:
    """`text` (an error message) with the folder's absolute path cut out."""
    return text.replace(f"{folder}/", "").replace(str(folder), ".")
