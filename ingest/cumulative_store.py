"""Cumulative (register) readings of a file: merged into each meter's stored sequence
(:mod:`ingest.cumulative` does the pure walk), with the use since the previous reading
allocated to local days.

One part of the file transaction (:mod:`ingest.loader`): :class:`CumulativeStore` is mixed
into the loader and works on its connection, settings and per-file state.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ingest import codes, copybin, cumulative, queries, rollups
from ingest.stored_checks import empty_rejects
from ingest.timestamps import to_datetime, to_epoch_us


class CumulativeStore:
    """Storing a file's cumulative readings (mixed into the file loader)."""

    # -- cumulative meters ----------------------------------------------------------------------
    def _store_cumulative(self, rows: pd.DataFrame) -> pd.DataFrame:
        if rows.empty:
            return empty_rejects()
        # The neighbour lookups below go by meter: the chunks written so far need their index.
        self._index_fresh_chunks()
        stats = rows.groupby("meter_key")["reading_at_us"].agg(["min", "max"])
        keys = [int(k) for k in stats.index]
        neighbours = self.conn.execute(
            queries.CUMULATIVE_NEIGHBOURS,
            {
                "keys": keys,
                "los": [to_datetime(int(v)) for v in stats["min"]],
                "his": [to_datetime(int(v)) for v in stats["max"]],
            },
        ).fetchall()
        decreases = {
            r["meter_id"]: to_epoch_us(r["reading_at"])
            for r in self.conn.execute(
                queries.LAST_REGISTER_DECREASE,
                ([self.meters_by_key[k].meter_id for k in keys],),
            ).fetchall()
            if r["reading_at"] is not None
        }
        stored_by_key: dict[int, list[cumulative.Register]] = {k: [] for k in keys}
        for r in neighbours:
            meter = self.meters_by_key[r["meter_key"]]
            stored_by_key[r["meter_key"]].append(
                cumulative.Register(
                    at_us=to_epoch_us(r["reading_at"]),
                    register_kwh=r["value"] * self.registry.factor(meter, r["unit"]),
                    energy_kwh=r["energy_kwh"],
                    since_us=None if r["since_at"] is None else to_epoch_us(r["since_at"]),
                )
            )
        walks: dict[int, cumulative.MeterWalk] = {}
        for key in keys:
            meter = self.meters_by_key[key]
            modulus = meter.register_modulus
            walks[key] = cumulative.MeterWalk(
                stored_by_key[key],
                meter.multiplier,
                None if modulus is None else modulus * self.registry.factor(meter, meter.unit),
                decreases.get(meter.meter_id),
                meter.max_power_kw or self.plausibility.max_power_kw,
            )
        outcome = cumulative.walk_meters(
            rows["meter_key"].to_numpy().astype(np.int64),
            rows.index.to_numpy().astype(np.int64),
            rows["reading_at_us"].to_numpy().astype(np.int64),
            rows["register_kwh"].to_numpy().astype(np.float64),
            rows["replace"].to_numpy().astype(bool),
            walks,
            self.rollover_max_share,
        )
        quarantined = outcome.quarantined
        lo_hi: list[tuple[int, int, int]] = []
        for key, at_us, energy, since in outcome.updates:
            self.conn.execute(
                queries.UPDATE_READING_ENERGY,
                (energy, None if since is None else to_datetime(since), key, to_datetime(at_us)),
            )
            lo_hi.append((key, since if since is not None else at_us, at_us))
        spans = self._insert_cumulative(rows, outcome)
        # Straight meters' days only gain (nothing stored after their new readings): their
        # spans are allocated to local days here and added like interval increments; the
        # other meters' days are recomputed from the readings (ingest/rollups.py).
        straight = outcome.is_straight
        if straight is not None and straight.any():
            self.increments.add(
                rollups.span_increments(
                    spans[0][straight],
                    outcome.since_us[straight],
                    spans[2][straight],
                    outcome.energy_kwh[straight],
                    self.tz,
                )
            )
            spans = [a[~straight] for a in spans]
        if lo_hi:
            arr = np.array(lo_hi, dtype=np.int64)
            spans = [np.concatenate((a, arr[:, j])) for j, a in enumerate(spans)]
        if len(spans[0]):
            rollups.merge_touched(self.touched, *spans)
        return pd.DataFrame(
            {
                "row": [int(rows.at[q[0], "row"]) for q in quarantined],
                "reason_code": [q[1] for q in quarantined],
                "message": [q[2] for q in quarantined],
                "meter_id": None,
                "details": [
                    {
                        "code": codes.dotted(q[1]),
                        "reading_at": to_datetime(int(rows.at[q[0], "reading_at_us"])).isoformat(),
                        **{
                            k: (to_datetime(v).isoformat() if k.endswith("_at_us") else v)
                            for k, v in q[3].items()
                        },
                    }
                    for q in quarantined
                ],
            },
            columns=["row", "reason_code", "message", "meter_id", "details"],
        )

    def _insert_cumulative(
        self, rows: pd.DataFrame, outcome: cumulative.BatchWalk
    ) -> list[np.ndarray]:
        """Write the accepted readings of ``outcome``; returns the spans they touch
        (meter keys, first and last instant [µs]) for the rollups."""
        positions, energy, since = outcome.rows, outcome.energy_kwh, outcome.since_us
        if len(positions) == 0:
            return [np.zeros(0, dtype=np.int64)] * 3
        sub = rows.loc[positions]
        keys = sub["meter_key"].to_numpy().astype(np.int64)
        times = sub["reading_at_us"].to_numpy()
        replace = sub["replace"].to_numpy()
        fresh = ~replace
        if fresh.any():
            self._copy_readings(
                queries.CUMULATIVE_COLUMNS,
                [
                    copybin.Column("int4", keys[fresh]),
                    copybin.Column("timestamptz", times[fresh]),
                    copybin.Column("float8", sub["value"].to_numpy()[fresh]),
                    copybin.Column("text", sub["unit"].to_numpy()[fresh]),
                    copybin.Column("float8", energy[fresh], np.isnan(energy[fresh])),
                    copybin.Column("int2", np.zeros(int(fresh.sum()), dtype=np.int64)),
                    copybin.Column("int8", np.full(int(fresh.sum()), self.file_id)),
                    copybin.Column("timestamptz", since[fresh], np.isnan(energy[fresh])),
                ],
                sub["register_kwh"].to_numpy()[fresh],
                sub["line_number"].to_numpy()[fresh],
            )
        for i in np.flatnonzero(replace):
            self._correct(
                int(keys[i]),
                int(times[i]),
                float(sub["value"].iat[i]),
                str(sub["unit"].iat[i]),
                None if np.isnan(energy[i]) else float(energy[i]),
                None if np.isnan(energy[i]) else int(since[i]),
            )
        self.result.rows_loaded += len(positions)
        spans_lo = np.where(np.isnan(energy), times, since)
        return [keys, spans_lo.astype(np.int64), times.astype(np.int64)]
