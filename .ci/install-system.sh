#!/usr/bin/env bash
# Make sure the machine has what QuotaWatch needs from the operating system:
# PostgreSQL with the TimescaleDB extension (Apache-2 edition), a font that renders Chinese
# (PDF notices), and Debian's Chromium with its driver for the browser tests. Idempotent and
# quick when everything is present.
#
# Strategy: use the distribution's timescaledb package when it has one for the installed
# PostgreSQL major version (Debian 13: postgresql-17-timescaledb); otherwise build Debian's
# own source package (suite trixie) against the installed server headers. The sources come
# through apt with a private sources list that reuses the mirror this machine already uses.
set -euo pipefail

log() { printf '[setup] %s\n' "$*" >&2; }
die() { printf '[setup] ERROR: %s\n' "$*" >&2; exit 1; }

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    die "not root and no sudo: install as root: postgresql, postgresql-server-dev-<major>, cmake, build-essential, chromium, chromium-driver (or set QUOTAWATCH_DATABASE_URL to an existing TimescaleDB)"
  fi
fi
export DEBIAN_FRONTEND=noninteractive
APT_UPDATED=0
apt_update() { if [ "$APT_UPDATED" = 0 ]; then log "apt-get update"; $SUDO apt-get update -qq >&2 || die "apt-get update failed"; APT_UPDATED=1; fi; }
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
apt_install() {
  local missing=()
  for p in "$@"; do have_pkg "$p" || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  apt_update
  log "apt-get install ${missing[*]}"
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 \
    || die "could not install: ${missing[*]} (install them by hand, then re-run)"
}

# --- PostgreSQL -------------------------------------------------------------------------
pg_major() {
  local d
  d=$(ls -1d /usr/lib/postgresql/*/bin/postgres 2>/dev/null | sed -E 's#/usr/lib/postgresql/([0-9]+)/.*#\1#' | sort -n | tail -1)
  echo "${d:-}"
}
if [ -z "$(pg_major)" ]; then
  apt_update
  # Prefer the newest major for which the distribution also ships TimescaleDB.
  for v in 17 16 15; do
    if apt-cache show "postgresql-$v-timescaledb" >/dev/null 2>&1; then apt_install "postgresql-$v" "postgresql-$v-timescaledb"; break; fi
  done
  [ -n "$(pg_major)" ] || apt_install postgresql
fi
PGV=$(pg_major)
[ -n "$PGV" ] || die "PostgreSQL server not found after install"
PGLIB=$(/usr/lib/postgresql/$PGV/bin/pg_config --pkglibdir 2>/dev/null || echo "/usr/lib/postgresql/$PGV/lib")

if ls "$PGLIB"/timescaledb*.so >/dev/null 2>&1; then
  log "TimescaleDB present for PostgreSQL $PGV"
else
  apt_update
  if apt-cache show "postgresql-$PGV-timescaledb" >/dev/null 2>&1; then
    apt_install "postgresql-$PGV-timescaledb"
  else
    log "no packaged TimescaleDB for PostgreSQL $PGV: building Debian's source package"
    apt_install "postgresql-server-dev-$PGV" cmake build-essential dpkg-dev libssl-dev libkrb5-dev
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    mkdir -p "$work/lists/partial" "$work/archives/partial"
    mirror=$(grep -hE '^(URIs:|deb(-src)? )' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
             | grep -v security | grep -oE '(https?|file)://[^ ]+' | grep -E '/debian/?$' | head -1 || true)
    [ -n "$mirror" ] || die "could not find the Debian mirror in the apt sources; provide TimescaleDB by hand"
    cat > "$work/sources.list" <<SRC
deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] ${mirror%/} trixie main
SRC
    aptopts=(-o "Dir::Etc::SourceList=$work/sources.list" -o "Dir::Etc::SourceParts=/dev/null"
             -o "Dir::State::Lists=$work/lists" -o "Dir::Cache::Archives=$work/archives"
             -o "APT::Sandbox::User=root")
    $SUDO apt-get "${aptopts[@]}" update -qq >&2 || die "could not read the trixie source index from $mirror"
    (cd "$work" && $SUDO apt-get "${aptopts[@]}" source --download-only -qq timescaledb >&2) \
      || die "could not download Debian's timescaledb source package"
    (cd "$work" && dpkg-source -x --no-check ./timescaledb_*.dsc src >&2) || die "could not unpack timescaledb source"
    (cd "$work/src" && PATH="/usr/lib/postgresql/$PGV/bin:$PATH" ./bootstrap -DAPACHE_ONLY=1 -DREGRESS_CHECKS=OFF -DTAP_CHECKS=OFF \
        -DSEND_TELEMETRY_DEFAULT=OFF -DUSE_TELEMETRY=OFF -DWARNINGS_AS_ERRORS=OFF \
        -DPG_CONFIG="/usr/lib/postgresql/$PGV/bin/pg_config" >&2 \
      && make -C build -j"$(nproc)" >&2 && $SUDO make -C build install >&2) || die "TimescaleDB build failed"
    ls "$PGLIB"/timescaledb*.so >/dev/null 2>&1 || die "TimescaleDB build finished but the library is not in $PGLIB"
    log "TimescaleDB built and installed for PostgreSQL $PGV"
  fi
fi

# --- Python with venv (Debian splits venv/ensurepip into python3-venv) -------------------
PY=${PYTHON:-python3}
if ! command -v "$PY" >/dev/null 2>&1; then apt_install python3 python3-venv; fi
"$PY" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' \
  || die "$PY is older than Python 3.11; install Python >= 3.11 or run make with PYTHON=/path/to/python3.11"
if ! "$PY" -c 'import ensurepip, venv' >/dev/null 2>&1; then
  apt_install python3-venv
fi

# --- A CJK font: embedded in the PDF notices (quota/record/notice_pdf.py), and Chinese labels in the
# browser tests and screenshots render instead of boxes ---------------------------------------
apt_install fonts-wqy-microhei

# --- Browser for the dashboard tests ------------------------------------------------------
if [ "${QUOTAWATCH_SKIP_BROWSER:-0}" != 1 ]; then
  apt_install chromium chromium-driver
fi
echo "$PGV"
