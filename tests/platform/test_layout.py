"""The house rules of docs/architecture.md, checked on the source: module and function sizes, typed
dependencies, arrows that only go down, no import cycles, ruff clean."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from testkit.settings import REPO, SHARED

SRC = REPO / "src" / "sensorium"
MODULES = sorted(SRC.rglob("*.py"))
MAX_MODULE_LINES = 450
MAX_FUNCTION_LINES = 80
#: capability packages and the other capabilities each may use (through their `schemas` and `service`);
#: music uses sound for the library roots the HTTP API may index (one policy for both libraries)
CAPABILITIES = {"speech": set(), "vision": {"speech"}, "sound": {"vision"}, "foley": set(),
                "emotion": {"speech", "vision"}, "music": {"vision", "speech", "sound"}}
FLOORS = {"config", "errors", "logs", "metrics", "concurrency", "media", "models", "store", "jobs"}
FACES = {"api", "cli", "web"}


def _rel(path: Path) -> str:
    return str(path.relative_to(REPO))


def test_no_module_is_too_long() -> None:
    long = [f"{_rel(p)}: {n} lines" for p in MODULES if (n := len(p.read_text().splitlines())) > MAX_MODULE_LINES]
    assert long == []


def test_no_function_is_too_long_without_a_reason() -> None:
    problems = []
    for path in MODULES:
        lines = path.read_text().splitlines()
        for node in ast.walk(ast.parse("\n".join(lines))):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            length = node.end_lineno - node.lineno + 1
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            reason = lines[first - 2].strip().startswith("#") if first >= 2 else False
            if length > MAX_FUNCTION_LINES and not reason:
                problems.append(f"{_rel(path)}:{node.lineno} {node.name}: {length} lines")
    assert problems == []


def test_dependencies_are_typed() -> None:
    """`settings`, `registry` and `services` parameters say what they are (never Any or untyped)."""
    problems = []
    for path in MODULES:
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for arg in [*node.args.args, *node.args.kwonlyargs]:
                if arg.arg in ("settings", "registry", "services"):
                    ann = ast.unparse(arg.annotation) if arg.annotation else ""
                    if ann in ("", "Any", "object"):
                        problems.append(f"{_rel(path)}:{node.lineno} {node.name}({arg.arg}: {ann or '?'})")
    assert problems == []


def _imports(path: Path) -> set[tuple[str, ...]]:
    """The sensorium modules a file imports, as name parts after `sensorium`."""
    names: set[tuple[str, ...]] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("sensorium."):
            base = tuple(node.module.split(".")[1:])
            names.add(base)
            names.update((*base, a.name) for a in node.names if len(base) == 1)  # from sensorium.x import y
        elif isinstance(node, ast.Import):
            names.update(tuple(a.name.split(".")[1:]) for a in node.names if a.name.startswith("sensorium."))
    return names


def _allowed(importer: tuple[str, ...], used: tuple[str, ...]) -> bool:
    top, target = importer[0], used[0]
    if target == top or target in FLOORS:
        return True
    if top in FLOORS:
        return False  # floors know no capability, face or services
    if top in CAPABILITIES:
        if target not in CAPABILITIES.get(top, set()):
            return False
        module = used[1] if len(used) > 1 else ""
        # another capability's public data shapes anywhere; its service only from our own service.py
        return module == "schemas" or (module == "service" and importer[-1] == "service")
    if top == "services":
        return target not in FACES
    return True  # faces (api, cli, web) may use everything below them


def test_arrows_only_go_down() -> None:
    problems = []
    for path in MODULES:
        importer = path.relative_to(SRC).with_suffix("").parts
        problems += [f"{_rel(path)} imports sensorium.{'.'.join(u)}" for u in sorted(_imports(path))
                     if not _allowed(importer, u)]
    assert problems == []


def test_no_import_cycles() -> None:
    tool = SHARED / "tools" / "import_cycles.py"
    if not tool.is_file():
        pytest.skip(f"{tool} not found (../shared/tools)")
    out = subprocess.run([sys.executable, str(tool), str(REPO / "src")], capture_output=True, text=True, check=True)
    assert " 0 module cycles, 0 package cycles" in out.stdout, out.stdout


def test_ruff_is_clean() -> None:
    ruff = shutil.which("ruff") or str(Path(sys.executable).parent / "ruff")
    out = subprocess.run([ruff, "check", "src", "tests", "bench", "testkit", "scripts"], cwd=REPO,
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
