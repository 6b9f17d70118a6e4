"""QuotaWatch core: settings, database access, migrations, the local TimescaleDB cluster,
the building registry and the pure quota math."""
