"""The coder's file tools, confined to the generated repository.

A path the model gives is untrusted: it must be relative, stay inside the repository once resolved
(``..`` and symlinks pointing out are refused), and must not touch baton's own bookkeeping — the git
directory, ``.baton-build/`` (the build's ledger and gate reports), ``.deploy/`` (the local releases
and the service's API key), ``.env``, the project's venv; ``spec.yaml`` and ``BUILD.md`` are readable,
never written. A refusal is a :class:`ToolRefused` whose message the
model reads. Reads and writes are bounded in size; binary files are not read.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

from baton.agents.tools import ToolRefused

# baton's bookkeeping, the local releases and their secrets, caches: neither read nor written.
HIDDEN = (
    ".git",
    ".baton-build",
    ".deploy",
    ".env",
    ".venv",
    "__pycache__",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
)
READ_ONLY = ("spec.yaml", "BUILD.md")
MAX_WRITE_BYTES = 200_000
MAX_READ_CHARS = 40_000
MAX_LISTED = 400


class Sandbox:
    """File operations on ``root`` for a model; every path is checked by :meth:`resolve`."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.written: set[str] = set()  # relative paths the model wrote or changed

    def resolve(self, path: str, *, write: bool = False) -> Path:
        if not isinstance(path, str) or not path.strip():
            raise ToolRefused("give a path relative to the repository root, e.g. app/main.py")
        if "\x00" in path or len(path) > 300:
            raise ToolRefused("that is not a usable path")
        raw = path.strip().replace("\\", "/")
        pure = PurePosixPath(raw)
        if pure.is_absolute() or raw.startswith("~") or (len(raw) > 1 and raw[1] == ":"):
            raise ToolRefused(f"{path!r} is absolute: paths are relative to the repository root")
        if ".." in pure.parts:
            raise ToolRefused(f"{path!r} leaves the repository: '..' is not allowed")
        parts = [p for p in pure.parts if p not in ("", ".")]
        if any(p in HIDDEN for p in parts):
            raise ToolRefused(f"{path!r} is baton's bookkeeping (or a cache), not part of the project")
        if write and "/".join(parts) in READ_ONLY:
            raise ToolRefused(f"{path!r} is written by baton; change the code, not this file")
        target = self.root.joinpath(*parts)
        # Resolve symlinks (of the file or any folder on the way) and check where they really point.
        real = Path(os.path.realpath(target))
        if real != self.root and not real.is_relative_to(self.root):
            raise ToolRefused(f"{path!r} points outside the repository (a symlink): refused")
        return target

    def relative(self, target: Path) -> str:
        return target.relative_to(self.root).as_posix() or "."

    # -- the tools -------------------------------------------------------------------------------

    def list_files(self, path: str = ".") -> str:
        folder = self.resolve(path or ".")
        if not folder.is_dir():
            raise ToolRefused(f"{path!r} is not a folder")
        found: list[str] = []
        for current, dirs, files in os.walk(folder):
            dirs[:] = sorted(d for d in dirs if d not in HIDDEN and not d.endswith(".egg-info"))
            for name in sorted(files):
                found.append(self.relative(Path(current) / name))
                if len(found) >= MAX_LISTED:
                    return "\n".join(found) + f"\n… (listing stopped at {MAX_LISTED} files)"
        return "\n".join(found) or "(no files)"

    def read_file(self, path: str) -> str:
        target = self.resolve(path)
        if not target.is_file():
            raise ToolRefused(f"{path!r} does not exist (list_files shows what does)")
        data = target.read_bytes()
        if b"\x00" in data[:4096]:
            raise ToolRefused(f"{path!r} is a binary file")
        text = data.decode("utf-8", errors="replace")
        if len(text) > MAX_READ_CHARS:
            return text[:MAX_READ_CHARS] + f"\n… [{len(text) - MAX_READ_CHARS} more characters not shown]"
        return text

    def write_file(self, path: str, content: str) -> str:
        target = self.resolve(path, write=True)
        encoded = content.encode("utf-8")
        if len(encoded) > MAX_WRITE_BYTES:
            raise ToolRefused(f"the content is {len(encoded)} bytes; the limit is {MAX_WRITE_BYTES}")
        if target.is_dir():
            raise ToolRefused(f"{path!r} is a folder")
        existed = target.exists()
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(encoded)
        self.written.add(self.relative(target))
        return f"{'replaced' if existed else 'created'} {self.relative(target)} ({len(encoded)} bytes)"

    def replace_in_file(self, path: str, old: str, new: str) -> str:
        target = self.resolve(path, write=True)
        if not target.is_file():
            raise ToolRefused(f"{path!r} does not exist")
        if not old:
            raise ToolRefused("old is empty: give the exact text to replace")
        text = target.read_text(encoding="utf-8", errors="replace")
        count = text.count(old)
        if count == 0:
            raise ToolRefused(
                f"old was not found in {path!r}: it must match exactly, whitespace included (read_file first)"
            )
        if count > 1:
            raise ToolRefused(f"old occurs {count} times in {path!r}: include more context so it is unique")
        changed = text.replace(old, new, 1)
        if len(changed.encode("utf-8")) > MAX_WRITE_BYTES:
            raise ToolRefused(f"the file would exceed {MAX_WRITE_BYTES} bytes")
        target.write_text(changed, encoding="utf-8")
        self.written.add(self.relative(target))
        return f"replaced 1 occurrence in {self.relative(target)}"
