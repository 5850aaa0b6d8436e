"""The hot pure-Python modules, compiled to C extensions with mypyc, and the guard that keeps a
stale build from running.

The real-time core, the live world, identity resolution and message normalisation run per event
in one interpreter; compiled by mypyc from the same typed sources they run about twice as fast
(bench/RESULTS.md). ``make install`` builds them in place next to their sources
(``shoal native build``). Python imports an extension module in preference to a
source file of the same name, so an edit to a source after a build would silently not run:
importing :mod:`shoal` therefore compares each source with the digest recorded at build time,
and when any differs (or ``SHOAL_NATIVE=0``) every module of the group is loaded from source.
All or none, because compiled modules call each other directly, not through ``sys.modules``.
"""

from __future__ import annotations

import hashlib
import importlib.abc
import importlib.machinery
import importlib.util
import json
import logging
import os
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

log = logging.getLogger(__name__)

MODULES: tuple[str, ...] = (
    "shoal.engines.values",
    "shoal.engines.universe",
    "shoal.engines.reference",
    "shoal.engines.realtime.compiled",
    "shoal.engines.realtime.core",
    "shoal.engines.realtime.engine",
    "shoal.engines.realtime.incremental",
    "shoal.engines.realtime.routes",
    "shoal.engines.realtime.world",
    "shoal.identity.extract",
    "shoal.identity.graph",
    "shoal.identity.resolve",
    "shoal.identity.rules",
    "shoal.spec.message",
    "shoal.spec.normalize",
    "shoal.spec.requests",
)
"""Modules compiled as one mypyc group (pure: they do no I/O and import only each other, the
standard library and :mod:`shoal.lang`).

Classes whose instances a checkpoint pickles carry ``@mypyc_attr(allow_interpreted_subclasses=
True)``: compiled, only such classes unpickle, since their ``__new__`` does not call ``__init__``
(mypy 2.4's ``serializable=True`` would say it better, but a class so marked skips ``__init__``
when interpreted code constructs it). Frozen ones instead reduce themselves to their constructor
(:mod:`shoal.pickling`). Compiled code calls a ``list``'s own methods directly, so a subclass that
overrides them (``EventList``) is changed by item assignment, which dispatches."""

DEPENDS: tuple[str, ...] = (
    "shoal.engines",
    "shoal.errors",
    "shoal.lang.ast",
    "shoal.pickling",
)
"""Interpreted modules the compiled ones are built against: mypyc checks their types at run
time (a ``Reduced`` changed in :mod:`shoal.pickling` fails a compiled ``__reduce__``), so a change
to one of them makes the build stale too."""

GROUP = "shoal._native"
"""Module name of the group's shared library (``src/shoal/_native__mypyc.*.so``)."""

SRC = Path(__file__).resolve().parent.parent
MANIFEST = SRC / "shoal" / "native.json"
"""Written by :func:`build`: the digest of every compiled source."""


def source(module: str, root: Path = SRC) -> Path:
    path = root.joinpath(*module.split("."))
    return path / "__init__.py" if path.is_dir() else path.with_suffix(".py")


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def check(root: Path = SRC, manifest: Path | None = None, *, switch: bool = True) -> str:
    """Why the compiled modules would not be used, or ``""`` when they are fresh (``switch``:
    whether ``SHOAL_NATIVE=0`` counts)."""
    off = os.environ.get("SHOAL_NATIVE", "1").strip().lower() in {"0", "false", "no", "off"}
    if switch and off:
        return "SHOAL_NATIVE=0"
    path = manifest or root / "shoal" / "native.json"
    try:
        recorded = json.loads(path.read_text())
    except FileNotFoundError:
        return "not built (make install builds it)"
    except (OSError, ValueError) as exc:
        return f"unreadable {path.name}: {exc}"
    if recorded.get("abi") != _abi():
        return f"built for {recorded.get('abi')}, running {_abi()}"
    digests = recorded.get("modules", {})
    if set(digests) != set(MODULES):
        return "the build compiled another set of modules"
    against = recorded.get("depends", {})
    changed = [
        m
        for m in (*MODULES, *DEPENDS)
        if {**digests, **against}.get(m) != _digest_or_none(source(m, root))
    ]
    if changed:
        return "sources changed since the build: " + ", ".join(changed)
    return ""


def status() -> str:
    """``compiled (mypyc)`` or ``interpreted (<why>)``: what a new process would run."""
    why = check() or ("" if _built() else "not built (make install builds it)")
    return f"interpreted ({why})" if why else "compiled (mypyc)"


def running() -> str:
    """``compiled`` or ``interpreted``: what this process runs (checkpoints record it, since
    the two builds pickle some objects differently)."""
    from shoal.engines.realtime import core

    return "compiled" if _is_extension(core) else "interpreted"


def guard() -> None:
    """Load every module of the group from source unless the build is fresh (called on
    ``import shoal``, before any of them is imported)."""
    if not _built():
        return
    why = check()
    if why:
        if not any(isinstance(f, _FromSource) for f in sys.meta_path):
            sys.meta_path.insert(0, _FromSource(frozenset(MODULES)))
        if not why.startswith("SHOAL_NATIVE"):
            log.warning(
                "compiled modules not used (%s): running interpreted, about half the speed; "
                "`make install` or `shoal native build` compiles them again",
                why,
            )


def build(jobs: int = 2) -> list[Path]:
    """Compile the group and install the extension files beside their sources; a no-op when
    the build is fresh. Returns the files installed (empty when nothing was built)."""
    if check(switch=False) == "" and _built():
        return []
    from mypyc.build import mypycify  # dev dependency: only building needs it
    from setuptools import setup

    MANIFEST.unlink(missing_ok=True)  # a half-done build is never taken for a fresh one
    work = SRC.parent / "build" / "native"
    shutil.rmtree(work / "lib", ignore_errors=True)  # only this build's extensions get installed
    previous = Path.cwd()
    os.chdir(SRC)  # mypyc names the modules after their paths from here
    try:
        paths = [str(source(m).relative_to(SRC)) for m in MODULES]
        extensions = mypycify(paths, opt_level="3", group_name=GROUP, target_dir=str(work / "c"))
        setup(
            name="shoal-native",
            ext_modules=extensions,
            script_args=[
                "-q",
                "build_ext",
                f"--build-lib={work / 'lib'}",
                f"--build-temp={work / 'temp'}",
                f"--parallel={jobs}",
            ],
        )
    finally:
        os.chdir(previous)
    installed = []
    for built in sorted((work / "lib").rglob("*.so")):
        target = SRC / built.relative_to(work / "lib")
        staging = target.with_name(target.name + ".new")
        shutil.copyfile(built, staging)
        # A new file, never a rewrite: a running server has the old one mapped.
        os.replace(staging, target)
        installed.append(target)
    for leftover in set((SRC / "shoal").rglob("*.so")) - set(installed):
        leftover.unlink()  # a module no longer in the group must not load a stale extension
    MANIFEST.write_text(
        json.dumps(
            {
                "abi": _abi(),
                "modules": {m: digest(source(m)) for m in MODULES},
                "depends": {m: digest(source(m)) for m in DEPENDS},
            },
            indent=2,
        )
        + "\n"
    )
    return installed


def clean() -> list[Path]:
    """Remove the extension files and the manifest; returns what was removed."""
    removed = [p for p in (SRC / "shoal").rglob("*.so")]
    for path in [*removed, MANIFEST]:
        path.unlink(missing_ok=True)
    return removed


class _FromSource(importlib.abc.MetaPathFinder):
    """Finds the group's modules as source files, ahead of the extension modules beside them."""

    def __init__(self, names: frozenset[str]) -> None:
        self._names = names

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in self._names or not path:
            return None
        for folder in path:
            candidate = Path(folder) / (fullname.rpartition(".")[2] + ".py")
            if candidate.is_file():
                return importlib.util.spec_from_file_location(fullname, candidate)
        return None


def _abi() -> str:
    return sys.implementation.cache_tag or sys.implementation.name


def _digest_or_none(path: Path) -> str | None:
    try:
        return digest(path)
    except OSError:
        return None


def _built() -> bool:
    return any((SRC / "shoal").glob("_native__mypyc*"))


def _is_extension(module: ModuleType | None) -> bool:
    suffixes = tuple(importlib.machinery.EXTENSION_SUFFIXES)
    return module is not None and str(getattr(module, "__file__", "")).endswith(suffixes)
