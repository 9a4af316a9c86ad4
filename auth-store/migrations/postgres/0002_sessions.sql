-- Revoked sessions: every access token whose `sid` is listed is refused
-- until the session's last access token has expired.
CREATE TABLE revoked_sessions (
    sid        TEXT PRIMARY KEY NOT NULL,
    expires_at BIGINT NOT NULL
);
