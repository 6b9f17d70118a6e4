-- Utility accounts and their bills: buildings evaluated from the utility's billed figures.
--
-- Quotas are set on the utility's billed consumption, keyed to utility accounts; an account
-- may serve several buildings (each with its share) and many buildings have no interval
-- meters at all. A bill is spread evenly over the local days of its period (value ÷ days,
-- times each building's share) into building_daily, which the quota engine reads; see
-- docs/ingest.md "Bills" and ingest/proration.py.

-- One row per account and building it serves. The shares of one account add up to 1
-- (checked by the import, which replaces an account's rows as a whole).
CREATE TABLE utility_account (
    account_id   text NOT NULL CHECK (account_id <> ''),
    building_id  text NOT NULL REFERENCES building ON DELETE CASCADE,
    energy_type  text NOT NULL,
    unit         text NOT NULL,
    share        double precision NOT NULL DEFAULT 1 CHECK (share >= 0 AND share <= 1),
    utility      text,
    account_name text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, building_id),
    FOREIGN KEY (energy_type, unit) REFERENCES energy_unit (energy_type, unit)
);
CREATE INDEX utility_account_building_idx ON utility_account (building_id, energy_type);

-- Bills as sent. period_start and period_end are local dates, both inclusive. A bill is
-- `active` (it counts), `superseded` (an estimate an actual bill replaced) or `corrected`
-- (replaced by a corrections file); the replacing bill and its file are recorded.
CREATE TABLE bill (
    bill_id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id          text NOT NULL,
    period_start        date NOT NULL,
    period_end          date NOT NULL CHECK (period_end >= period_start),
    value               double precision NOT NULL CHECK (value >= 0),
    unit                text NOT NULL,
    -- The value in kWh (unit conversion applied; natural gas by its energy content).
    energy_kwh          double precision NOT NULL CHECK (energy_kwh >= 0),
    estimated           boolean NOT NULL DEFAULT false,
    status              text NOT NULL DEFAULT 'active'
                        CHECK (status IN ('active', 'superseded', 'corrected')),
    file_id             bigint NOT NULL REFERENCES ingest_file ON DELETE CASCADE,
    line_number         integer NOT NULL CHECK (line_number > 0),
    replaced_by_bill_id bigint REFERENCES bill ON DELETE SET NULL,
    replaced_by_file_id bigint REFERENCES ingest_file ON DELETE SET NULL,
    replaced_at         timestamptz
);
CREATE INDEX bill_account_idx ON bill (account_id, period_start);
CREATE INDEX bill_file_idx ON bill (file_id);

-- Audit of bills replaced by a corrections file (as reading_correction for readings).
CREATE TABLE bill_correction (
    correction_id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id            text NOT NULL,
    previous_bill_id      bigint NOT NULL REFERENCES bill,
    previous_period_start date NOT NULL,
    previous_period_end   date NOT NULL,
    previous_value        double precision NOT NULL,
    previous_estimated    boolean NOT NULL,
    previous_file_id      bigint,
    new_bill_id           bigint NOT NULL REFERENCES bill,
    file_id               bigint NOT NULL REFERENCES ingest_file,
    corrected_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX bill_correction_account_idx ON bill_correction (account_id, corrected_at);

-- What an ingested file held: meter readings or bills (recognised by its header).
ALTER TABLE ingest_file ADD COLUMN content text NOT NULL DEFAULT 'readings'
    CHECK (content IN ('readings', 'bills'));

-- Where a building-day's figure comes from: its meters ('meters'), the bills of its
-- accounts ('bills'), or, for a building with accounts, its meters on a day no bill covers
-- ('provisional': replaced once a bill arrives).
ALTER TABLE building_daily ADD COLUMN source text NOT NULL DEFAULT 'meters'
    CHECK (source IN ('meters', 'bills', 'provisional'));
