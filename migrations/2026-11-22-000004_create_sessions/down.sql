DROP TABLE login_throttles;
DROP TABLE refresh_tokens;
DROP TABLE sessions;
