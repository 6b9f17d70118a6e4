-- meter.register_max: the largest value a cumulative register shows, not its modulus.
--
-- People read "register_max" as its name says: a five-digit register shows 0…99999, so they
-- write 99999. Until now the loader used the column as the modulus (the value at which the
-- register wraps to 0): a rollover from 99990 to 5 counted 14 units instead of 15, and a
-- reading of exactly 99999 was quarantined. From now on the register wraps at register_max
-- plus one step of its last digit (quota/registry.py register_modulus: 99999 → 100000,
-- 9999.9 → 10000). Stored values were moduli; each becomes the largest value below it, so
-- that every meter keeps its modulus and no total changes:
--   whole numbers:  m → m − 1                      (100000 → 99999, step 1)
--   fractions:      m → m − 10^-(d+1), d = decimals (1000.5 → 1000.49, step 0.01)
-- (the second keeps a last digit of 9, so the step read back from the value is exact).
--
-- Also: meter.max_power_kw, a meter's own ceiling of plausible average power [kW]; readings
-- above it are quarantined implausible_value (NULL: [rules.ingest] max_power_kw, 100 MW).

ALTER TABLE meter DROP CONSTRAINT IF EXISTS meter_register_max_check;

UPDATE meter
   SET register_max = CASE
           WHEN register_max = trunc(register_max) THEN register_max - 1
           ELSE (register_max::numeric
                 - power(10::numeric, -(scale(register_max::numeric) + 1)))::double precision
       END,
       updated_at = now()
 WHERE register_max IS NOT NULL;

ALTER TABLE meter ADD CONSTRAINT meter_register_max_check CHECK (register_max >= 0);
COMMENT ON COLUMN meter.register_max IS
    'Largest value the cumulative register shows, in unit (99999 for five digits); it wraps to 0 at register_max plus one step of its last digit';

ALTER TABLE meter ADD COLUMN max_power_kw double precision CHECK (max_power_kw > 0);
COMMENT ON COLUMN meter.max_power_kw IS
    'Ceiling of plausible average power over a reading''s interval [kW]; NULL: the [rules.ingest] default';
