"""Every Dash component id of the dashboard, in one place.

Callbacks and layouts import these names instead of repeating string literals, so a renamed
component cannot silently break a callback.
"""

from __future__ import annotations

# Shell (every page)
LANG_STORE = "lang-store"
LANG_TOGGLE = "lang-toggle"
NAV = "nav"
NAV_CITY = "nav-city"
NAV_RETROFIT = "nav-retrofit"
NAV_QUALITY = "nav-quality"
NAV_LOGOUT = "nav-logout"
WHOAMI = "whoami"
APP_TITLE = "app-title"
SKIP_LINK = "skip-link"
MAIN = "main-content"  # the <main> landmark, target of the skip link
LANG_TAG = "lang-tag"  # the <html lang> tag the page carries
LIVE_POLL = "live-poll"  # timer of the newest-evaluation poll
LIVE_EVALUATION = "live-evaluation"  # the newest evaluation id seen
CITY_COMPUTED = "city-computed"
BUILDING_COMPUTED = "building-computed"

# City compliance page
CITY_YEAR = "city-year"
CITY_AS_OF = "city-as-of"
CITY_BASIS = "city-basis"
CITY_DISTRICT = "city-district"
CITY_TYPE = "city-type"
CITY_SIZE = "city-size"
CITY_HEADLINE = "city-headline"
CITY_EMPTY = "city-empty"
CITY_BY_DISTRICT = "city-by-district"
CITY_BY_TYPE = "city-by-type"
CITY_UTILIZATION = "city-utilization"
CITY_GRID = "city-grid"
CITY_SELECTION = "city-selection"  # the selection the grid's row requests are answered for

# Building page
BUILDING_ID_STORE = "building-id-store"
BUILDING_YEAR = "building-year"
BUILDING_BASIS = "building-basis"
BUILDING_HEADER = "building-header"
BUILDING_CUMULATIVE = "building-cumulative"
BUILDING_MONTHLY = "building-monthly"
BUILDING_MONTH = "building-month"
BUILDING_HEATMAP = "building-heatmap"
BUILDING_METERS = "building-meters"
BUILDING_HISTORY = "building-history"
BUILDING_PEERS = "building-peers"
BUILDING_NOTE = "building-note"

# Retrofit candidates page
RETRO_YEAR = "retro-year"
RETRO_DISTRICT = "retro-district"
RETRO_TYPE = "retro-type"
RETRO_MIN_AREA = "retro-min-area"
RETRO_TRIGGER = "retro-trigger"
RETRO_TOTALS = "retro-totals"
RETRO_GRID = "retro-grid"
RETRO_CSV = "retro-csv"
RETRO_XLSX = "retro-xlsx"
RETRO_DOWNLOAD = "retro-download"
RETRO_NOTE = "retro-note"
RETRO_FORBIDDEN = "retro-forbidden"  # the page without its controls (role or no runs)

# Data quality page
DQ_INGEST_GRID = "dq-ingest-grid"
DQ_JOB_GRID = "dq-job-grid"
DQ_QUARANTINE_GRID = "dq-quarantine-grid"
DQ_QUARANTINE_CHART = "dq-quarantine-chart"
DQ_REASON = "dq-reason"
DQ_QUARANTINE_CSV = "dq-quarantine-csv"
DQ_QUARANTINE_XLSX = "dq-quarantine-xlsx"
DQ_DOWNLOAD = "dq-download"
DQ_STALE_GRID = "dq-stale-grid"
DQ_STALE_DAYS = "dq-stale-days"
DQ_BODY = "dq-body"
DQ_HEARTBEAT = "dq-heartbeat"
DQ_HEARTBEAT_STALE = "dq-heartbeat-stale"

# Decisions: determined history (city and building pages), audit page (regulators)
DETERMINED_CITY_GRID = "determined-city-grid"
DETERMINED_BUILDING_GRID = "determined-building-grid"
AUDIT_BODY = "audit-body"
AUDIT_BUILDING = "audit-building"
AUDIT_SINCE = "audit-since"
AUDIT_ACTION = "audit-action"
AUDIT_GRID = "audit-grid"
ADJUST_BUILDING = "adjust-building"
ADJUST_YEAR = "adjust-year"
ADJUST_BASIS = "adjust-basis"
ADJUST_LIMIT = "adjust-limit"
ADJUST_REASON = "adjust-reason"
ADJUST_SUBMIT = "adjust-submit"
ADJUST_MESSAGE = "adjust-message"
DETERMINE_YEAR = "determine-year"
DETERMINE_SUPERSEDE = "determine-supersede"
DETERMINE_REASON = "determine-reason"
DETERMINE_SUBMIT = "determine-submit"
DETERMINE_MESSAGE = "determine-message"

# Utility accounts and bills (dashboard/bills_view.py)
BUILDING_BILLS = "building-bills"
BUILDING_ACCOUNTS_GRID = "building-accounts-grid"
BUILDING_BILLS_GRID = "building-bills-grid"
BUILDING_BILLS_VS_METERS_GRID = "building-bills-vs-meters-grid"
DQ_BILLS = "dq-bills"
DQ_STALE_ACCOUNTS_GRID = "dq-stale-accounts-grid"
DQ_BILL_QUARANTINE_GRID = "dq-bill-quarantine-grid"
# Notices and appeals (dashboard/appeals_view.py, dashboard/pages/appeals.py)
NOTICE_YEAR = "notice-year"
NOTICE_BUTTON = "notice-button"
NOTICE_DOWNLOAD = "notice-download"
NOTICE_MESSAGE = "notice-message"
APPEAL_BASIS = "appeal-basis"
APPEAL_REASON = "appeal-reason"
APPEAL_LIMIT = "appeal-limit"
APPEAL_SUBMIT = "appeal-submit"
APPEAL_MESSAGE = "appeal-message"
APPEAL_LIST = "appeal-list"
APPEALS_BODY = "appeals-body"
APPEALS_OPEN = "appeals-open"
DECIDE_APPEAL_ID = "decide-appeal-id"
DECIDE_DECISION = "decide-decision"
DECIDE_REASON = "decide-reason"
DECIDE_LIMIT = "decide-limit"
DECIDE_SUPERSEDE = "decide-supersede"
DECIDE_SUBMIT = "decide-submit"
DECIDE_MESSAGE = "decide-message"
