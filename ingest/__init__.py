"""QuotaWatch ingest: parse and validate meter reading files, load them exactly once into
TimescaleDB, keep daily rollups current, and run the scheduled jobs."""
