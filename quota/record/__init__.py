"""The programme's record: what a regulator decides and what follows from it.

``quota_versions`` (every change of a quota is a new version), ``determinations`` (year-end
results, frozen), ``audit`` (the append-only log) and ``roles`` (who may do what), with
their SQL in ``decision_queries``; ``notices`` (``notice_queries``, ``notice_text``,
``notice_pdf``) and ``casefile`` (what a third party needs to recompute a status);
``appeals`` (``appeal_queries``).
"""
