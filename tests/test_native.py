"""The mypyc-compiled modules (:mod:`shoal.native`): the build is used when fresh and only then.
(A checkpoint of the other build: tests/compute/test_service.py.)"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from shoal import native

ROOT = Path(__file__).resolve().parent.parent
BUILT = native.status() == "compiled (mypyc)"
needs_build = pytest.mark.skipif(not BUILT, reason=f"compiled modules: {native.status()}")


@pytest.fixture
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """A source tree holding every compiled module's file (and those they are built against),
    and a manifest matching it."""
    monkeypatch.delenv("SHOAL_NATIVE", raising=False)
    for module in (*native.MODULES, *native.DEPENDS):
        path = tmp_path.joinpath(*module.split("."))
        path = path / "__init__.py" if module == "shoal.engines" else path.with_suffix(".py")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"# {module}\n")
    manifest = tmp_path / "shoal" / "native.json"
    digests = {m: native.digest(native.source(m, tmp_path)) for m in native.MODULES}
    depends = {m: native.digest(native.source(m, tmp_path)) for m in native.DEPENDS}
    manifest.write_text(
        json.dumps({"abi": sys.implementation.cache_tag, "modules": digests, "depends": depends})
    )
    return tmp_path, manifest


def test_a_build_matching_its_sources_is_fresh(fake: tuple[Path, Path]) -> None:
    root, manifest = fake
    assert native.check(root, manifest) == ""


def test_an_edited_source_makes_the_build_stale(fake: tuple[Path, Path]) -> None:
    root, manifest = fake
    native.source("shoal.engines.realtime.world", root).write_text("# edited\n")
    assert native.check(root, manifest) == (
        "sources changed since the build: shoal.engines.realtime.world"
    )
    native.source("shoal.spec.message", root).unlink()
    assert "shoal.spec.message" in native.check(root, manifest)


def test_an_edited_module_the_build_is_compiled_against_makes_it_stale(
    fake: tuple[Path, Path],
) -> None:
    """Compiled code checks the types it imports at run time: a changed ``Reduced`` in
    shoal.pickling made every compiled ``__reduce__`` fail until rebuilt."""
    root, manifest = fake
    assert native.source("shoal.engines", root).name == "__init__.py"  # a package
    native.source("shoal.pickling", root).write_text("# Reduced changed\n")
    assert native.check(root, manifest) == "sources changed since the build: shoal.pickling"


def test_a_build_of_another_set_of_modules_is_stale(fake: tuple[Path, Path]) -> None:
    root, manifest = fake
    recorded = json.loads(manifest.read_text())
    recorded["modules"]["shoal.profiles.book"] = "0" * 64  # a module since dropped from the group
    manifest.write_text(json.dumps(recorded))
    assert native.check(root, manifest) == "the build compiled another set of modules"


def test_other_interpreters_missing_manifests_and_the_switch_are_reported(
    fake: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    root, manifest = fake
    recorded = json.loads(manifest.read_text())
    manifest.write_text(json.dumps({**recorded, "abi": "cpython-399"}))
    assert native.check(root, manifest).startswith("built for cpython-399")
    manifest.write_text("{not json")
    assert native.check(root, manifest).startswith("unreadable native.json")
    manifest.unlink()
    assert native.check(root, manifest).startswith("not built")
    monkeypatch.setenv("SHOAL_NATIVE", "0")
    assert native.check(root, manifest) == "SHOAL_NATIVE=0"
    assert native.check(root, manifest, switch=False).startswith("not built")  # what build asks


def _loaded_from(env: dict[str, str], root: Path = ROOT / "src") -> tuple[list[str], str]:
    """Where a fresh interpreter loads the compiled group from (one file per module), and what it
    warned on stderr."""
    script = "import importlib, shoal.native as n\n" + (
        "print('\\n'.join(importlib.import_module(m).__file__ for m in n.MODULES))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        env={**os.environ, "PYTHONPATH": str(root), **env},
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return result.stdout.split(), result.stderr


@needs_build
def test_a_fresh_build_is_what_runs() -> None:
    files, warned = _loaded_from({"SHOAL_NATIVE": "1"})
    assert len(files) == len(native.MODULES)
    assert all(f.endswith(".so") for f in files), files
    assert warned == ""


@needs_build
def test_shoal_native_0_runs_every_module_from_source() -> None:
    files, warned = _loaded_from({"SHOAL_NATIVE": "0"})
    assert all(f.endswith(".py") for f in files), files
    assert warned == ""  # asked for: nothing to warn about


@needs_build
def test_a_source_edited_after_the_build_runs_all_the_group_from_source(tmp_path: Path) -> None:
    copy = tmp_path / "src"
    shutil.copytree(ROOT / "src", copy, ignore=shutil.ignore_patterns("__pycache__"))
    files, _ = _loaded_from({"SHOAL_NATIVE": "1"}, copy)
    assert all(f.endswith(".so") for f in files), files
    world = native.source("shoal.engines.realtime.world", copy)
    world.write_text(world.read_text() + "\nEDITED = True\n")
    files, warned = _loaded_from({"SHOAL_NATIVE": "1"}, copy)
    assert all(f.endswith(".py") and f.startswith(str(copy)) for f in files), files
    assert "sources changed since the build: shoal.engines.realtime.world" in warned
    assert "shoal native build" in warned
