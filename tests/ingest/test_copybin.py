"""Binary COPY rows."""

from __future__ import annotations

import numpy as np


def test_copy_rows_as_one_array_are_the_same_bytes() -> None:
    from ingest import copybin

    n = 5
    columns = [
        copybin.Column("int4", np.arange(n)),
        copybin.Column("timestamptz", np.arange(n) * 3_600_000_000),
        copybin.Column("float8", np.linspace(0, 1, n), np.ones(n, dtype=bool)),
        copybin.Column("text", np.array(["kWh"] * n, dtype=object)),
    ]
    array = copybin.rows_array(columns)
    assert array is not None
    assert array.tobytes() == copybin.rows_bytes(columns)
    assert array[2:].tobytes() == copybin.rows_bytes(
        [
            copybin.Column(c.kind, c.values[2:], None if c.null is None else c.null[2:])
            for c in columns
        ]
    )
    # Rows of another shape (a NULL here) are not one array.
    columns[2] = copybin.Column("float8", np.linspace(0, 1, n), np.arange(n) == 1)
    assert copybin.rows_array(columns) is None
    assert copybin.rows_array([copybin.Column("int4", np.zeros(0))]) is None
