"""Writing an agent's results as files: one CSV per table and one JSON summary, replaced atomically.

Steps are at-least-once: a step run again after a crash rewrites the same files, and a reader never
sees half a file because each is written aside and renamed into place.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
from pydantic import BaseModel

from baton.core.errors import InvalidInputError

__all__ = ["prepare_output_folder", "read_table", "write_agent_files", "write_text"]


def prepare_output_folder(
    directory: str | Path, *, label: str = "--out", field: str = "out", shown: str | None = None
) -> Path:
    """Create ``directory`` (and its parents) and check that a file can be written in it, or refuse it
    with one message naming the folder (as ``shown``, when the caller wrote it otherwise) — before any
    work is done, not after the forecast."""
    folder = Path(directory).expanduser()
    name = shown if shown is not None else str(folder)
    if folder.exists() and not folder.is_dir():
        raise InvalidInputError(
            f"{label} {name} is a file, not a folder",
            fields={field: "not a folder"},
            hint="choose a folder (it is created when missing)",
        )
    try:
        folder.mkdir(parents=True, exist_ok=True)
        check = folder / f".baton-write-check.{os.getpid()}"
        check.write_bytes(b"")
        check.unlink()
    except OSError as error:
        raise InvalidInputError(
            f"cannot write to {label} {name}: {error.strerror or error}",
            fields={field: "not writable"},
            hint="choose a folder you can write to",
        ) from None
    return folder


def write_text(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    aside = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    aside.write_text(text, encoding="utf-8")
    os.replace(aside, path)
    return path


def write_agent_files(
    directory: Path, agent: str, summary: BaseModel, tables: dict[str, pd.DataFrame]
) -> dict[str, str]:
    """Write ``<directory>/<agent>/<table>.csv`` for each table and ``<agent>.json``; returns name → path."""
    folder = directory / agent
    paths: dict[str, str] = {}
    for name, frame in tables.items():
        paths[name] = str(write_text(folder / f"{name}.csv", frame.to_csv(index=False)))
    paths["summary"] = str(write_text(folder / f"{agent}.json", summary.model_dump_json(indent=2)))
    return paths


def read_table(path: str | Path, *, dates: tuple[str, ...] = ()) -> pd.DataFrame:
    """Read back a table this module wrote (date columns parsed as dates)."""
    frame = pd.read_csv(path)
    for column in dates:
        if column in frame:
            frame[column] = pd.to_datetime(frame[column]).dt.date
    return frame
