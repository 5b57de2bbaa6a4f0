"""Reading and checking the planner's files: sales history, stores and, mid-season, actual sales.

Every problem names the file, the column and the row — rows are counted as a spreadsheet shows them
(the header is row 1, the first data row is row 2) — and all problems are reported at once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from baton.core.errors import InvalidInputError

__all__ = [
    "ACTUALS_COLUMNS",
    "HISTORY_COLUMNS",
    "HISTORY_FILE",
    "MIN_HISTORY_WEEKS",
    "STORES_COLUMNS",
    "STORES_FILE",
    "DataProblem",
    "SeasonData",
    "SeasonDataError",
    "file_fingerprint",
    "load_data",
    "read_actuals",
    "read_history",
    "read_stores",
]

HISTORY_FILE = "historical_sales.csv"
STORES_FILE = "stores.csv"
MIN_HISTORY_WEEKS = 52
_SHOWN_ROWS = 3
_SHOWN_PROBLEMS = 8

# column → what it must hold
HISTORY_COLUMNS = {
    "week": "date",
    "store_id": "text",
    "category": "text",
    "units": "count",
    "price": "positive number",
}
STORES_COLUMNS = {
    "store_id": "text",
    "size": "positive number",
    "region": "text",
    "climate": "text",
    "traffic": "number",
    "format": "text",
    "opening_year": "year",
}
ACTUALS_COLUMNS = {"week": "date", "store_id": "text", "category": "text", "units": "count"}
_OPTIONAL_ACTUALS_COLUMNS = {"price": "positive number"}


@dataclass(frozen=True)
class DataProblem:
    """One thing wrong with one file; ``rows`` as a spreadsheet numbers them (header = row 1)."""

    file: str
    message: str
    column: str | None = None
    rows: tuple[int, ...] = ()
    more_rows: int = 0

    def __str__(self) -> str:
        where = [self.file]
        if self.column:
            where.append(f"column {self.column!r}")
        if self.rows:
            listed = ", ".join(str(r) for r in self.rows)
            where.append(
                ("row " if len(self.rows) == 1 else "rows ")
                + listed
                + (f" and {self.more_rows} more" if self.more_rows else "")
            )
        return ", ".join(where) + ": " + self.message


class SeasonDataError(InvalidInputError):
    """Files that cannot be planned from; ``problems`` lists each with its file, column and rows."""

    code = "invalid_season_data"

    def __init__(self, problems: list[DataProblem]) -> None:
        shown = "\n".join(f"  - {p}" for p in problems[:_SHOWN_PROBLEMS])
        extra = f"\n  … and {len(problems) - _SHOWN_PROBLEMS} more" if len(problems) > _SHOWN_PROBLEMS else ""
        super().__init__(
            f"the season data has {len(problems)} problem{'s' if len(problems) != 1 else ''}:\n{shown}{extra}",
            fields={f"{p.file}:{p.column or ''}": p.message for p in problems},
            hint="fix the files and run again (`baton season sample-data DIR` writes an example of each)",
        )
        self.problems = list(problems)


@dataclass(frozen=True)
class SeasonData:
    """The validated history and stores, with the fingerprints of the files they came from."""

    history: pd.DataFrame  # week (datetime64), store_id, category, units (float), price (float)
    stores: pd.DataFrame  # store_id, size, region, climate, traffic, format, opening_year
    fingerprints: dict[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()


def file_fingerprint(path: Path) -> str:
    """The SHA-256 of a file's bytes: a run resumed on changed data is caught by comparing these."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _row_numbers(mask: pd.Series) -> tuple[tuple[int, ...], int]:
    bad = np.flatnonzero(mask.to_numpy()) + 2
    return tuple(int(r) for r in bad[:_SHOWN_ROWS]), max(0, len(bad) - _SHOWN_ROWS)


def _read_csv(
    path: Path, columns: dict[str, str], problems: list[DataProblem], optional: dict[str, str] | None = None
) -> pd.DataFrame | None:
    if not path.is_file():
        problems.append(DataProblem(path.name, f"file not found at {path}"))
        return None
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        problems.append(DataProblem(path.name, f"not a readable CSV file ({str(error).strip()})"))
        return None
    raw.columns = [str(c).strip().lower() for c in raw.columns]
    absent = [c for c in columns if c not in raw.columns]
    if absent:
        problems.append(
            DataProblem(
                path.name,
                f"missing column{'s' if len(absent) > 1 else ''} {', '.join(absent)} "
                f"(expected {', '.join(columns)}; found {', '.join(raw.columns) or 'none'})",
            )
        )
        return None
    if raw.empty:
        problems.append(DataProblem(path.name, "has a header but no rows"))
        return None
    wanted = {**columns, **{c: t for c, t in (optional or {}).items() if c in raw.columns}}
    typed = {
        name: _convert(raw[name].str.strip(), kind, path.name, name, problems)
        for name, kind in wanted.items()
    }
    return pd.DataFrame(typed)


_CHECKS: dict[str, tuple[Callable[[pd.Series], pd.Series], Callable[[pd.Series], pd.Series], str]] = {
    "count": (
        lambda s: pd.to_numeric(s, errors="coerce"),
        lambda v: (v >= 0) & (np.floor(v) == v),
        "must be a whole number of units, 0 or more",
    ),
    "number": (lambda s: pd.to_numeric(s, errors="coerce"), lambda v: v >= 0, "must be a number, 0 or more"),
    "positive number": (
        lambda s: pd.to_numeric(s, errors="coerce"),
        lambda v: v > 0,
        "must be a number above 0",
    ),
    "year": (
        lambda s: pd.to_numeric(s, errors="coerce"),
        lambda v: (v >= 1800) & (v <= 2200) & (np.floor(v) == v),
        "must be a year such as 2015",
    ),
    "date": (
        lambda s: pd.to_datetime(s, format="%Y-%m-%d", errors="coerce"),
        lambda v: v.notna(),
        "must be a date written YYYY-MM-DD, e.g. 2024-03-04",
    ),
}


def _convert(values: pd.Series, kind: str, file: str, column: str, problems: list[DataProblem]) -> pd.Series:
    empty = values == ""
    if empty.any():
        rows, more = _row_numbers(empty)
        problems.append(DataProblem(file, "is empty", column, rows, more))
    if kind == "text":
        return values
    parse, valid, rule = _CHECKS[kind]
    converted = parse(values)
    bad = ~empty & ~valid(converted).fillna(False).astype(bool)
    if bad.any():
        rows, more = _row_numbers(bad)
        example = values[bad].iloc[0]
        problems.append(DataProblem(file, f"{rule} (got {example!r})", column, rows, more))
    return converted


def _duplicates(frame: pd.DataFrame, keys: list[str], file: str, problems: list[DataProblem]) -> None:
    dup = frame.duplicated(keys, keep="first")
    if dup.any():
        rows, more = _row_numbers(dup)
        problems.append(
            DataProblem(file, f"repeats a row for the same {', '.join(keys)}", keys[-1], rows, more)
        )


def _check_weeks(frame: pd.DataFrame, file: str, problems: list[DataProblem]) -> None:
    weeks = frame["week"].dropna()
    if weeks.empty:
        return
    first = weeks.min()
    off = ((weeks - first).dt.days % 7) != 0
    if off.any():
        rows, more = _row_numbers(off.reindex(frame.index, fill_value=False))
        problems.append(
            DataProblem(
                file,
                f"weeks must fall on the same weekday every week (the first week is {first.date()}, "
                f"a {first.day_name()})",
                "week",
                rows,
                more,
            )
        )
        return
    count = int((weeks.max() - first).days // 7 + 1)
    if count < MIN_HISTORY_WEEKS and file == HISTORY_FILE:
        problems.append(
            DataProblem(
                file,
                f"has {count} weeks of history ({first.date()} to {weeks.max().date()}); at least "
                f"{MIN_HISTORY_WEEKS} are needed to see a whole year's seasonality",
                "week",
            )
        )


def read_stores(path: Path) -> pd.DataFrame:
    """Read and check ``stores.csv``; raises :class:`SeasonDataError`."""
    problems: list[DataProblem] = []
    stores = _read_csv(path, STORES_COLUMNS, problems)
    if stores is not None:
        _duplicates(stores, ["store_id"], path.name, problems)
    if problems or stores is None:
        raise SeasonDataError(problems)
    return stores.reset_index(drop=True)


def read_history(path: Path, *, known_stores: pd.Series | None = None) -> pd.DataFrame:
    """Read and check ``historical_sales.csv``; with ``known_stores`` every store must be one of them."""
    problems: list[DataProblem] = []
    history = _read_csv(path, HISTORY_COLUMNS, problems)
    if history is not None:
        _duplicates(history, ["week", "store_id", "category"], path.name, problems)
        _check_weeks(history, path.name, problems)
        if known_stores is not None:
            _unknown_stores(history, known_stores, path.name, problems)
    if problems or history is None:
        raise SeasonDataError(problems)
    return history


def read_actuals(path: Path, *, known_stores: pd.Series | None = None) -> pd.DataFrame:
    """Read and check a file of actual sales to date (week, store_id, category, units and optionally price)."""
    problems: list[DataProblem] = []
    actuals = _read_csv(path, ACTUALS_COLUMNS, problems, optional=_OPTIONAL_ACTUALS_COLUMNS)
    if actuals is not None:
        _duplicates(actuals, ["week", "store_id", "category"], path.name, problems)
        if known_stores is not None:
            _unknown_stores(actuals, known_stores, path.name, problems)
    if problems or actuals is None:
        raise SeasonDataError(problems)
    return actuals


def _unknown_stores(frame: pd.DataFrame, known: pd.Series, file: str, problems: list[DataProblem]) -> None:
    unknown = ~frame["store_id"].isin(set(known))
    if unknown.any():
        rows, more = _row_numbers(unknown)
        names = ", ".join(sorted(frame.loc[unknown, "store_id"].unique())[:5])
        problems.append(DataProblem(file, f"stores not in {STORES_FILE}: {names}", "store_id", rows, more))


def load_data(directory: Path) -> SeasonData:
    """Read and check both files of ``directory``; every problem of both is reported in one error."""
    problems: list[DataProblem] = []
    stores: pd.DataFrame | None = None
    history: pd.DataFrame | None = None
    try:
        stores = read_stores(directory / STORES_FILE)
    except SeasonDataError as error:
        problems += error.problems
    try:
        history = read_history(
            directory / HISTORY_FILE, known_stores=stores["store_id"] if stores is not None else None
        )
    except SeasonDataError as error:
        problems += error.problems
    if problems or stores is None or history is None:
        raise SeasonDataError(problems)
    notes = []
    silent = sorted(set(stores["store_id"]) - set(history["store_id"]))
    if silent:
        notes.append(
            f"{len(silent)} store(s) of {STORES_FILE} have no sales history and are not planned: "
            + ", ".join(silent[:10])
        )
        stores = stores[~stores["store_id"].isin(silent)].reset_index(drop=True)
    fingerprints = {name: file_fingerprint(directory / name) for name in (HISTORY_FILE, STORES_FILE)}
    return SeasonData(history=history, stores=stores, fingerprints=fingerprints, notes=tuple(notes))


def categories_in(directory: str | Path) -> list[str] | None:
    """The categories of the history file, for reading a request; None when the file cannot be read
    (checking it is :func:`load_data`'s job)."""
    try:
        column = pd.read_csv(Path(directory) / HISTORY_FILE, usecols=["category"], dtype=str)["category"]
    except (OSError, ValueError):
        return None
    return sorted(column.dropna().str.strip().unique())


def store_groups_in(directory: str | Path) -> dict[str, list[str]]:
    """Each text column of stores.csv (but the id) with its values — the groups a request may name
    ("the north region", "outlets") — for reading a request; empty when the file cannot be read."""
    columns = [name for name, kind in STORES_COLUMNS.items() if kind == "text" and name != "store_id"]
    try:
        frame = pd.read_csv(Path(directory) / STORES_FILE, usecols=columns, dtype=str)
    except (OSError, ValueError):
        return {}
    return {column: sorted(v for v in frame[column].dropna().str.strip().unique() if v) for column in columns}
