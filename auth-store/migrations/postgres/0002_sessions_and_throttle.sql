-- Revoked sessions: every access token whose `sid` is listed is refused
-- until the session's last access token has expired.
CREATE TABLE revoked_sessions (
    sid        TEXT PRIMARY KEY NOT NULL,
    expires_at BIGINT NOT NULL
);

-- Failed password checks, per (account, address) and per account (address
-- `*`), shared by every instance; rows older than the throttle's window go.
CREATE TABLE login_failures (
    account      TEXT NOT NULL,
    addr         TEXT NOT NULL,
    failures     BIGINT NOT NULL,
    last_failure BIGINT NOT NULL,
    PRIMARY KEY (account, addr)
);
CREATE INDEX login_failures_last ON login_failures (last_failure);
