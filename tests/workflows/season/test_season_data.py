"""Sample data and the checks on the planner's files: every problem names file, column and row."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from baton.core.errors import InvalidInputError
from baton.workflows.season import SeasonDataError, write_sample_data
from baton.workflows.season.data import load_data, read_actuals
from baton.workflows.season.sample_data import SampleSpec, make_sample_data


def test_sample_data_has_the_promised_shape(tmp_path: Path) -> None:
    sales, stores = write_sample_data(tmp_path)
    history = pd.read_csv(sales)
    table = pd.read_csv(stores)
    assert list(history.columns) == ["week", "store_id", "category", "units", "price"]
    assert list(table.columns) == [
        "store_id",
        "size",
        "region",
        "climate",
        "traffic",
        "format",
        "opening_year",
    ]
    assert history["week"].nunique() == 104
    assert table["store_id"].nunique() == 50 == history["store_id"].nunique()
    assert sorted(history["category"].unique()) == ["basics", "outerwear", "swimwear"]
    assert history["week"].max() == "2026-02-23"
    assert (history["units"] >= 0).all()


def test_sample_data_is_reproducible_and_the_seed_matters() -> None:
    first, _ = make_sample_data(SampleSpec(stores=5, seed=3))
    again, _ = make_sample_data(SampleSpec(stores=5, seed=3))
    other, _ = make_sample_data(SampleSpec(stores=5, seed=4))
    pd.testing.assert_frame_equal(first, again)
    assert not first["units"].equals(other["units"])


def test_sample_data_has_seasonality_trend_and_promotions() -> None:
    history, _ = make_sample_data(SampleSpec(stores=20, weeks=104))
    history["week"] = pd.to_datetime(history["week"])
    swim = history[history["category"] == "swimwear"].groupby("week")["units"].sum()
    assert swim[swim.index.month.isin([6, 7])].mean() > 2.5 * swim[swim.index.month.isin([12, 1])].mean()
    total = history.groupby("week")["units"].sum()
    assert total.iloc[52:].sum() > total.iloc[:52].sum()  # the chain grows
    regular = history.groupby(["category", "week"])["price"].mean().groupby("category").transform("max")
    discounted = history.groupby(["category", "week"])["price"].mean() < 0.9 * regular
    assert discounted.sum() >= 6  # promotions: weeks sold well below the regular price


def _write(directory: Path, history: pd.DataFrame, stores: pd.DataFrame) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    history.to_csv(directory / "historical_sales.csv", index=False)
    stores.to_csv(directory / "stores.csv", index=False)
    return directory


@pytest.fixture
def frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    return make_sample_data(SampleSpec(stores=3, weeks=60, seed=1))


def test_valid_files_load_with_typed_columns(
    tmp_path: Path, frames: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    data = load_data(_write(tmp_path, *frames))
    assert pd.api.types.is_datetime64_any_dtype(data.history["week"])
    assert pd.api.types.is_numeric_dtype(data.history["units"])
    assert set(data.fingerprints) == {"historical_sales.csv", "stores.csv"}


def test_missing_files_are_each_named(tmp_path: Path) -> None:
    with pytest.raises(SeasonDataError) as caught:
        load_data(tmp_path)
    assert isinstance(caught.value, InvalidInputError)
    text = str(caught.value)
    assert "stores.csv: file not found" in text and "historical_sales.csv: file not found" in text


def test_missing_columns_are_named(tmp_path: Path, frames: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    history, stores = frames
    _write(tmp_path, history.drop(columns=["price"]), stores.drop(columns=["climate", "format"]))
    with pytest.raises(SeasonDataError) as caught:
        load_data(tmp_path)
    text = str(caught.value)
    assert "historical_sales.csv: missing column price" in text
    assert "stores.csv: missing columns climate, format" in text


def test_bad_values_name_file_column_and_spreadsheet_row(
    tmp_path: Path, frames: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    history, stores = frames
    history = history.astype({"units": object, "week": object})
    history.loc[4, "units"] = "lots"
    history.loc[9, "units"] = -3
    history.loc[6, "week"] = "03/04/2024"
    stores = stores.astype({"size": object})
    stores.loc[1, "size"] = ""
    _write(tmp_path, history, stores)
    with pytest.raises(SeasonDataError) as caught:
        load_data(tmp_path)
    problems = {str(p) for p in caught.value.problems}
    assert (
        "historical_sales.csv, column 'units', rows 6, 11: must be a whole number of units, 0 or more "
        "(got 'lots')" in problems
    )
    assert (
        "historical_sales.csv, column 'week', row 8: must be a date written YYYY-MM-DD, e.g. 2024-03-04 "
        "(got '03/04/2024')" in problems
    )
    assert "stores.csv, column 'size', row 3: is empty" in problems


def test_fewer_than_52_weeks_is_refused(tmp_path: Path) -> None:
    _write(tmp_path, *make_sample_data(SampleSpec(stores=2, weeks=40)))
    with pytest.raises(SeasonDataError, match=r"has 40 weeks of history .* at least 52 are needed"):
        load_data(tmp_path)


def test_unknown_stores_and_duplicate_rows_are_reported(
    tmp_path: Path, frames: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    history, stores = frames
    history = pd.concat([history, history.iloc[[0]]], ignore_index=True)
    history.loc[2, "store_id"] = "S999"
    _write(tmp_path, history, stores)
    with pytest.raises(SeasonDataError) as caught:
        load_data(tmp_path)
    text = str(caught.value)
    assert "column 'store_id', row 4: stores not in stores.csv: S999" in text
    assert f"row {len(history) + 1}: repeats a row for the same week, store_id, category" in text


def test_weeks_must_keep_the_same_weekday(tmp_path: Path, frames: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    history, stores = frames
    history = history.astype({"week": object})
    history.loc[history["week"] == history["week"].max(), "week"] = date(2025, 4, 23)
    _write(tmp_path, history, stores)
    with pytest.raises(SeasonDataError, match="same weekday every week"):
        load_data(tmp_path)


def test_actuals_may_carry_a_price_column(tmp_path: Path) -> None:
    path = tmp_path / "actuals.csv"
    path.write_text("week,store_id,category,units,price\n2026-03-02,S001,basics,12,19.5\n")
    actuals = read_actuals(path, known_stores=pd.Series(["S001"]))
    assert actuals["price"].tolist() == [19.5]
    path.write_text("week,store_id,category,units\n2026-03-02,S002,basics,x\n")
    with pytest.raises(SeasonDataError, match="row 2"):
        read_actuals(path, known_stores=pd.Series(["S001"]))
