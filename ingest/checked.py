"""A file's batches parsed, validated, sorted and cleared of in-batch duplicates (pure).

:func:`checked_batches` is the database-free part of a file's load: the loading thread
reads small files with it, the reader thread of a large file (:mod:`ingest.loader`) its
batches ahead of their writes. Small files of a transaction of several are read in the
loading thread: a thread reading them ahead competed with the loading thread for the
interpreter lock and made such loads 8-13 % slower (bench/README.md).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from ingest.flags import limits
from ingest.parse import RawBatch, iter_batches
from ingest.plausibility import Plausibility, plausibility
from ingest.stored_checks import split_in_batch_duplicates
from ingest.timestamps import to_epoch_us
from ingest.validate import Registry, validate_batch
from quota.settings import Settings

# A batch as checked: (raw batch, good rows sorted by meter and instant without repeats,
# rejects, in-batch conflicting rows, in-batch identical repeats).
Checked = tuple[RawBatch, pd.DataFrame, pd.DataFrame, pd.DataFrame, int]


@dataclass(frozen=True)
class Checks:
    """What checking a file's rows needs: batch size [lines], registry, time zone, the
    load's clock [µs], the future tolerance [µs] and the plausibility limits."""

    batch_rows: int
    registry: Registry
    tz: Any
    now_us: int
    future_tolerance_us: int
    plausibility: Plausibility

    @classmethod
    def of(cls, settings: Settings, registry: Registry) -> Checks:
        return cls(
            batch_rows=settings.ingest_batch_rows,
            registry=registry,
            tz=settings.tz,
            now_us=to_epoch_us(datetime.now(UTC)),
            future_tolerance_us=limits(settings.rules)[0],
            plausibility=plausibility(settings.rules, settings.tz),
        )


def checked_batches(
    stream: Any, checks: Checks, stop: threading.Event | None = None
) -> Iterator[Checked]:
    """Parsed, validated and sorted batches of a file (no database access)."""
    for _layout, batch in iter_batches(stream, checks.batch_rows):
        if stop is not None and stop.is_set():
            return
        good, rejects = validate_batch(
            batch,
            checks.registry,
            checks.tz,
            checks.now_us,
            checks.future_tolerance_us,
            checks.plausibility,
        )
        # By meter and instant; rows of one meter and instant stay in file order.
        order = np.lexsort((good["reading_at_us"].to_numpy(), good["meter_key"].to_numpy()))
        good = good.take(order).reset_index(drop=True)
        good["register_kwh"] = good["value"].to_numpy() * good["kwh_per_unit"].to_numpy()
        good, in_batch, duplicates = split_in_batch_duplicates(good)
        yield batch, good, rejects, in_batch, duplicates
