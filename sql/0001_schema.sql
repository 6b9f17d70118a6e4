-- QuotaWatch schema, version 1.
-- Applied by `quotawatch db migrate` in one transaction. Never edit once applied: add a new
-- NNNN_name.sql instead (the runner refuses an applied migration whose checksum changed).
--
-- Names carry their units (floor_area_m2, energy_kwh, limit_value in the basis's unit),
-- timestamps end in _at and are timestamptz; local calendar days (quota years are local
-- years) are `date` values in the configured QUOTAWATCH_TIMEZONE.

CREATE EXTENSION IF NOT EXISTS timescaledb;

-- ------------------------------------------------------------------------------------------
-- Registry
-- ------------------------------------------------------------------------------------------
CREATE TABLE building_type (
    building_type text PRIMARY KEY,
    name_zh       text NOT NULL UNIQUE,
    name_en       text NOT NULL
);

INSERT INTO building_type (building_type, name_zh, name_en) VALUES
    ('office_government', '政府办公', 'Government office'),
    ('office_commercial', '商业办公', 'Commercial office'),
    ('mall',              '商场',     'Shopping mall'),
    ('hotel',             '酒店',     'Hotel'),
    ('hospital',          '医院',     'Hospital'),
    ('school',            '中小学',   'School'),
    ('university',        '高校',     'University'),
    ('culture',           '文化',     'Culture venue'),
    ('sports',            '体育',     'Sports venue'),
    ('transport',         '交通',     'Transport hub'),
    ('other',             '其他',     'Other');

CREATE TABLE building (
    building_id              text PRIMARY KEY CHECK (building_id <> ''),
    name                     text NOT NULL,
    district                 text NOT NULL,
    building_type            text NOT NULL REFERENCES building_type,
    floor_area_m2            double precision NOT NULL CHECK (floor_area_m2 > 0),
    public_use_share         double precision NOT NULL DEFAULT 1
                             CHECK (public_use_share >= 0 AND public_use_share <= 1),
    commissioned_year        integer CHECK (commissioned_year BETWEEN 1800 AND 2200),
    latitude                 double precision CHECK (latitude BETWEEN -90 AND 90),
    longitude                double precision CHECK (longitude BETWEEN -180 AND 180),
    operating_hours_per_year double precision
                             CHECK (operating_hours_per_year > 0 AND operating_hours_per_year <= 8784),
    area_per_person_m2       double precision CHECK (area_per_person_m2 > 0),
    created_at               timestamptz NOT NULL DEFAULT now(),
    updated_at               timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX building_district_idx ON building (district);
CREATE INDEX building_type_idx ON building (building_type);

CREATE TABLE energy_unit (
    energy_type text NOT NULL
                CHECK (energy_type IN ('electricity', 'natural_gas', 'district_heat')),
    unit        text NOT NULL,
    PRIMARY KEY (energy_type, unit)
);
INSERT INTO energy_unit (energy_type, unit) VALUES
    ('electricity', 'Wh'), ('electricity', 'kWh'), ('electricity', 'MWh'),
    ('natural_gas', 'm3'),
    ('district_heat', 'GJ'), ('district_heat', 'MJ'), ('district_heat', 'kWh');

CREATE TABLE meter (
    meter_id         text PRIMARY KEY CHECK (meter_id <> ''),
    -- Compact surrogate key used by the readings hypertable (4 bytes instead of a text id).
    meter_key        integer GENERATED ALWAYS AS IDENTITY UNIQUE,
    building_id      text NOT NULL REFERENCES building ON DELETE RESTRICT,
    energy_type      text NOT NULL,
    unit             text NOT NULL,
    reading_kind     text NOT NULL DEFAULT 'interval'
                     CHECK (reading_kind IN ('interval', 'cumulative')),
    multiplier       double precision NOT NULL DEFAULT 1 CHECK (multiplier > 0),
    register_max     double precision CHECK (register_max > 0),
    interval_minutes integer CHECK (interval_minutes > 0 AND interval_minutes <= 1440),
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (energy_type, unit) REFERENCES energy_unit (energy_type, unit)
);
CREATE INDEX meter_building_idx ON meter (building_id);

CREATE TABLE quota (
    building_id text NOT NULL REFERENCES building ON DELETE CASCADE,
    year        integer NOT NULL CHECK (year BETWEEN 1990 AND 2200),
    basis       text NOT NULL CHECK (basis IN ('electricity_kwh', 'energy_kgce')),
    -- Annual limit in the basis's unit: kWh for electricity_kwh, kgce for energy_kgce.
    limit_value double precision NOT NULL CHECK (limit_value > 0),
    source      text NOT NULL CHECK (source IN ('imported', 'proposed')),
    method      text,
    explanation jsonb,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (building_id, year, basis, source)
);

-- The quota in force: an imported (published) quota always wins over a proposal.
CREATE VIEW quota_effective AS
SELECT DISTINCT ON (building_id, year, basis)
       building_id, year, basis, limit_value, source, method
  FROM quota
 ORDER BY building_id, year, basis, (source = 'imported') DESC;

-- ------------------------------------------------------------------------------------------
-- Ingest bookkeeping
-- ------------------------------------------------------------------------------------------
CREATE TABLE ingest_run (
    run_id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    trigger          text NOT NULL DEFAULT 'cli' CHECK (trigger IN ('cli', 'scheduler', 'test')),
    started_at       timestamptz NOT NULL DEFAULT now(),
    finished_at      timestamptz,
    outcome          text NOT NULL DEFAULT 'running'
                     CHECK (outcome IN ('running', 'succeeded', 'failed', 'partial')),
    files_seen       integer NOT NULL DEFAULT 0,
    rows_read        bigint NOT NULL DEFAULT 0,
    rows_loaded      bigint NOT NULL DEFAULT 0,
    rows_duplicate   bigint NOT NULL DEFAULT 0,
    rows_quarantined bigint NOT NULL DEFAULT 0,
    error            text
);

CREATE TABLE ingest_file (
    file_id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id           bigint REFERENCES ingest_run ON DELETE SET NULL,
    file_name        text NOT NULL,
    path             text NOT NULL,
    sha256           text NOT NULL,
    size_bytes       bigint NOT NULL CHECK (size_bytes >= 0),
    kind             text NOT NULL DEFAULT 'readings' CHECK (kind IN ('readings', 'corrections')),
    status           text NOT NULL CHECK (status IN ('loaded', 'rejected')),
    rows_read        bigint NOT NULL DEFAULT 0,
    rows_loaded      bigint NOT NULL DEFAULT 0,
    rows_duplicate   bigint NOT NULL DEFAULT 0,
    rows_quarantined bigint NOT NULL DEFAULT 0,
    error            text,
    loaded_at        timestamptz NOT NULL DEFAULT now(),
    UNIQUE (sha256, kind)
);

CREATE TABLE quarantine (
    quarantine_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    file_id       bigint NOT NULL REFERENCES ingest_file ON DELETE CASCADE,
    line_number   integer NOT NULL CHECK (line_number > 0),
    raw_row       text NOT NULL,
    reason_code   text NOT NULL,
    message       text NOT NULL,
    meter_id      text,
    details       jsonb,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX quarantine_file_idx ON quarantine (file_id);
CREATE INDEX quarantine_reason_idx ON quarantine (reason_code, created_at);
CREATE INDEX quarantine_meter_idx ON quarantine (meter_id, reason_code);

-- ------------------------------------------------------------------------------------------
-- Readings: one hypertable, a reading of a meter at a time exists once.
-- Key (meter_key, reading_at) as the primary key: every per-meter question (the previous
-- register reading, a building's heat map, the loader's "anything stored in this range?"
-- test) is an index range scan; (reading_at, meter_key) loads ~15 % faster but would need a
-- second index for those. Chunk interval 7 days: at city scale (~30,000 meters, hourly) a
-- chunk holds ~5 M rows whose index fits in memory, and a local day or month touches few
-- chunks. No foreign key to meter: a per-row RI check made COPY 3.4x slower (measured, see
-- docs/ingest.md); the loader only writes keys it resolved from the registry in the same
-- transaction, and the trigger below keeps a meter with readings from being deleted.
-- ------------------------------------------------------------------------------------------
CREATE TABLE reading (
    meter_key   integer NOT NULL,
    -- Interval meters: start of the interval. Cumulative meters: instant of the register read.
    reading_at  timestamptz NOT NULL,
    -- Value as sent, in `unit` (register value for cumulative meters).
    value       double precision NOT NULL,
    unit        text NOT NULL,
    -- Energy in kWh with the multiplier applied: the interval's use for interval meters, the
    -- use since the previous reading for cumulative meters (NULL for a baseline reading).
    energy_kwh  double precision,
    -- Bit flags for suspicious-but-possible data (1 = zero run, 2 = spike).
    flags       smallint NOT NULL DEFAULT 0,
    file_id     bigint NOT NULL,
    -- Cumulative meters: instant of the previous stored reading that energy_kwh counts from
    -- (the span (since_at, reading_at] is allocated to local days in proportion to time);
    -- NULL for interval meters and for baseline readings.
    since_at    timestamptz,
    PRIMARY KEY (meter_key, reading_at)
);
SELECT create_hypertable('reading', 'reading_at', chunk_time_interval => interval '7 days');

CREATE FUNCTION meter_keep_readings() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM reading WHERE meter_key = OLD.meter_key) THEN
        RAISE EXCEPTION 'meter % has readings and cannot be deleted', OLD.meter_id
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN OLD;
END $$;
CREATE TRIGGER meter_keep_readings BEFORE DELETE ON meter
    FOR EACH ROW EXECUTE FUNCTION meter_keep_readings();

CREATE TABLE reading_correction (
    correction_id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    meter_key           integer NOT NULL REFERENCES meter (meter_key),
    reading_at          timestamptz NOT NULL,
    previous_value      double precision,
    previous_energy_kwh double precision,
    previous_file_id    bigint,
    new_value           double precision NOT NULL,
    new_energy_kwh      double precision,
    file_id             bigint NOT NULL REFERENCES ingest_file,
    corrected_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX reading_correction_meter_idx ON reading_correction (meter_key, reading_at);

CREATE TABLE reading_flag (
    flag_id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    meter_key   integer NOT NULL REFERENCES meter (meter_key),
    flag_code   text NOT NULL,
    start_at    timestamptz NOT NULL,
    end_at      timestamptz NOT NULL,
    details     jsonb,
    file_id     bigint REFERENCES ingest_file ON DELETE CASCADE,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX reading_flag_meter_idx ON reading_flag (meter_key, start_at);

-- ------------------------------------------------------------------------------------------
-- Daily rollups (local calendar days), kept current in the ingest transaction.
-- ------------------------------------------------------------------------------------------
CREATE TABLE meter_daily (
    meter_key     integer NOT NULL REFERENCES meter (meter_key),
    day           date NOT NULL,
    energy_kwh    double precision NOT NULL,
    reading_count integer NOT NULL,
    -- Hours of the day covered by data (interval length or cumulative span), 0..25.
    covered_hours double precision NOT NULL DEFAULT 0,
    PRIMARY KEY (meter_key, day)
);
CREATE INDEX meter_daily_day_idx ON meter_daily (day);

CREATE TABLE building_daily (
    building_id   text NOT NULL REFERENCES building ON DELETE CASCADE,
    energy_type   text NOT NULL CHECK (energy_type IN ('electricity', 'natural_gas', 'district_heat')),
    day           date NOT NULL,
    energy_kwh    double precision NOT NULL,
    reading_count integer NOT NULL,
    covered_hours double precision NOT NULL DEFAULT 0,
    meter_count   integer NOT NULL,
    PRIMARY KEY (building_id, energy_type, day)
);
CREATE INDEX building_daily_day_idx ON building_daily (day, energy_type);

-- ------------------------------------------------------------------------------------------
-- Jobs and evaluations
-- ------------------------------------------------------------------------------------------
CREATE TABLE job_run (
    job_run_id  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job_id      text NOT NULL,
    started_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    outcome     text NOT NULL DEFAULT 'running'
                CHECK (outcome IN ('running', 'succeeded', 'failed', 'skipped')),
    counts      jsonb NOT NULL DEFAULT '{}'::jsonb,
    error       text,
    hostname    text,
    pid         integer
);
CREATE INDEX job_run_job_idx ON job_run (job_id, started_at DESC);

CREATE TABLE evaluation_run (
    evaluation_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    year          integer NOT NULL,
    as_of         date NOT NULL,
    computed_at   timestamptz NOT NULL DEFAULT now(),
    timezone      text NOT NULL,
    parameters    jsonb NOT NULL DEFAULT '{}'::jsonb,
    building_count integer NOT NULL DEFAULT 0
);
CREATE INDEX evaluation_run_year_idx ON evaluation_run (year, computed_at DESC);

CREATE TABLE evaluation_result (
    evaluation_id    bigint NOT NULL REFERENCES evaluation_run ON DELETE CASCADE,
    building_id      text NOT NULL REFERENCES building ON DELETE CASCADE,
    basis            text NOT NULL,
    status           text NOT NULL CHECK (status IN (
                         'no_quota', 'out_of_scope', 'insufficient_data', 'within',
                         'at_risk', 'over', 'over_20', 'over_20_repeat')),
    energy_kwh       double precision,
    energy_kgce      double precision,
    quota            double precision,
    expected_share   double precision,
    utilization      double precision,
    projected        double precision,
    completeness     double precision,
    excess           double precision,
    eui_kwh_per_m2   double precision,
    co2_kg           double precision,
    details          jsonb NOT NULL DEFAULT '{}'::jsonb,
    PRIMARY KEY (evaluation_id, building_id, basis)
);
CREATE INDEX evaluation_result_building_idx ON evaluation_result (building_id, evaluation_id);

-- ------------------------------------------------------------------------------------------
-- Dashboard users
-- ------------------------------------------------------------------------------------------
CREATE TABLE app_user (
    username      text PRIMARY KEY CHECK (username ~ '^[A-Za-z0-9_.@-]{1,64}$'),
    role          text NOT NULL CHECK (role IN ('regulator', 'analyst', 'manager')),
    password_hash text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_login_at timestamptz,
    failed_logins integer NOT NULL DEFAULT 0,
    locked_until  timestamptz
);

CREATE TABLE user_building (
    username    text NOT NULL REFERENCES app_user ON DELETE CASCADE,
    building_id text NOT NULL REFERENCES building ON DELETE CASCADE,
    PRIMARY KEY (username, building_id)
);
CREATE INDEX user_building_building_idx ON user_building (building_id);
