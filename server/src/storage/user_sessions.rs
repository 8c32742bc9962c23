//! The `user_sessions` table: the sign-ins handed out, for the users list's count of each
//! user's active sessions ([`Storage::users_page`] counts them). Sessions are checked by token
//! version, not here.

use super::{Storage, StorageError};

/// Rows kept per user, newest first: a count past it says "at least".
pub const SESSIONS_KEPT_PER_USER: i64 = 200;

impl Storage {
    /// Notes a session of `user` at token `version`, from `at` until `expires_at` (unix
    /// seconds); the user's ended sessions go, and any past [`SESSIONS_KEPT_PER_USER`].
    pub async fn record_session(
        &self,
        user: i64,
        version: i64,
        at: i64,
        expires_at: i64,
    ) -> Result<(), StorageError> {
        let sweep = "DELETE FROM user_sessions WHERE user_id = $1 AND (expires_at <= $2 \
                     OR token_version <> $3 OR id NOT IN (SELECT id FROM user_sessions \
                     WHERE user_id = $1 ORDER BY id DESC LIMIT $4))";
        with_pool!(self, pool => sqlx::query(sweep).bind(user).bind(at).bind(version)
            .bind(SESSIONS_KEPT_PER_USER - 1).execute(pool).await.map(drop))?;
        let insert = "INSERT INTO user_sessions (user_id, token_version, created_at, expires_at) \
                      VALUES ($1, $2, $3, $4)";
        with_pool!(self, pool => sqlx::query(insert).bind(user).bind(version).bind(at)
            .bind(expires_at).execute(pool).await.map(drop))?;
        Ok(())
    }
}
