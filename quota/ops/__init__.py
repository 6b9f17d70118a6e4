"""Operating QuotaWatch: ``health`` (what ``/healthz`` and ``/metrics`` report: database,
scheduler heartbeat and lock, inbox backlog, latest evaluation) and ``queries`` (its SQL, the
scheduler's heartbeat and the backup log)."""
