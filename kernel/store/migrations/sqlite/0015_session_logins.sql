-- The e-ID login a session came from: the tenant's login method and the
-- provider's subject (a pseudonym) and session id, so that the provider
-- can end the session (OpenID Connect back-channel logout) and logging
-- out can end the provider's session. NULL for the test login. Kept in
-- step between sqlite/ and postgres/.

ALTER TABLE sessions ADD COLUMN login_method TEXT;
ALTER TABLE sessions ADD COLUMN login_subject TEXT;
ALTER TABLE sessions ADD COLUMN login_sid TEXT;
CREATE INDEX sessions_by_login_subject ON sessions (tenant_id, login_method, login_subject)
    WHERE login_method IS NOT NULL;
CREATE INDEX sessions_by_login_sid ON sessions (tenant_id, login_method, login_sid)
    WHERE login_sid IS NOT NULL;
