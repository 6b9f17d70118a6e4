-- web_session: dashboard sign-ins recorded on the server.
--
-- The browser's cookie carries a random token; only its SHA-256 is stored, so a copy of this
-- table signs nobody in. A request is signed in while its token's row exists and has not
-- expired. Signing out deletes every row of the user; removing a user deletes them by
-- cascade; changing a password (a new password_hash, whichever command writes it) deletes
-- them through the trigger below. Expired rows are deleted at the next sign-in.

CREATE TABLE web_session (
    token_sha256 bytea PRIMARY KEY CHECK (octet_length(token_sha256) = 32),
    username     text NOT NULL REFERENCES app_user ON DELETE CASCADE ON UPDATE CASCADE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL
);
CREATE INDEX web_session_username_idx ON web_session (username);
CREATE INDEX web_session_expires_idx ON web_session (expires_at);

COMMENT ON TABLE web_session IS
    'Signed-in dashboard sessions: SHA-256 of the cookie token, user, expiry';

CREATE FUNCTION web_session_end_on_new_password() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM web_session WHERE username = NEW.username;
    RETURN NEW;
END;
$$;

CREATE TRIGGER app_user_password_changed
    AFTER UPDATE OF password_hash ON app_user
    FOR EACH ROW
    WHEN (OLD.password_hash IS DISTINCT FROM NEW.password_hash)
    EXECUTE FUNCTION web_session_end_on_new_password();
