-- Users and clients: one table, with their roles apart so a role can be
-- added or removed in one statement.
CREATE TABLE users (
    id            TEXT PRIMARY KEY NOT NULL,
    username      TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    enabled       BOOLEAN NOT NULL DEFAULT TRUE,
    permissions   TEXT NOT NULL DEFAULT '{}', -- PermissionSet as JSON
    extra         TEXT NOT NULL DEFAULT '{}', -- profile data as a JSON object
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);

CREATE TABLE user_roles (
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role    TEXT NOT NULL,
    PRIMARY KEY (user_id, role)
);
CREATE INDEX user_roles_role ON user_roles (role);

-- Refresh tokens by the SHA-256 of the token; every token rotated from one
-- login shares a family. The user may live in another identity provider,
-- so there is no foreign key to users.
CREATE TABLE refresh_tokens (
    token_hash        BLOB PRIMARY KEY NOT NULL,
    family            TEXT NOT NULL,
    user_id           TEXT NOT NULL,
    created_at        INTEGER NOT NULL,
    expires_at        INTEGER NOT NULL,
    family_expires_at INTEGER NOT NULL,
    used              BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family);
CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id);

-- The registry of issued access tokens (never the token itself).
CREATE TABLE access_tokens (
    jti        TEXT PRIMARY KEY NOT NULL,
    client_id  TEXT NOT NULL,
    roles      TEXT NOT NULL DEFAULT '[]', -- JSON array of role names
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    issued_by  TEXT NOT NULL,
    revoked    BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX access_tokens_client ON access_tokens (client_id);
CREATE INDEX access_tokens_expires ON access_tokens (expires_at);

-- Revoked access tokens, kept until they expire.
CREATE TABLE revoked_jtis (
    jti        TEXT PRIMARY KEY NOT NULL,
    expires_at INTEGER NOT NULL
);

-- Per-user cut-offs: every token of the user issued at or before it is revoked.
CREATE TABLE revoked_users (
    client_id TEXT PRIMARY KEY NOT NULL,
    cutoff    INTEGER NOT NULL
);

-- Handler settings; at most one is active.
CREATE TABLE handler_settings (
    id         TEXT PRIMARY KEY NOT NULL,
    config     TEXT NOT NULL, -- JSON
    active     BOOLEAN NOT NULL DEFAULT FALSE,
    updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX handler_settings_one_active ON handler_settings (active) WHERE active;
