//! The `api_tokens` table: each token's hash, scope and owner, for
//! [`crate::domain::auth::api_tokens`]. Tokens are listed with their owner's email and found by
//! the hash of the secret a request presents, joined with the user they belong to.

use super::{Storage, StorageError};

/// A token with what its owner is now, as a request presenting it needs.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ApiTokenRow {
    pub id: i64,
    pub user_id: i64,
    pub name: String,
    pub scope: String,
    /// The tenant a platform user's `tenant_read` token reads.
    pub tenant_id: Option<String>,
    /// Unix seconds.
    pub created_at: i64,
    pub expires_at: i64,
    pub last_used_at: Option<i64>,
    pub owner_email: String,
    pub owner_role: String,
    pub owner_tenant: Option<String>,
    /// The owner's token version: its live sockets end when it moves on.
    pub owner_version: i64,
}

/// `SELECT` the [`ApiTokenRow`]s not revoked where `where` holds (a literal: sqlx takes static
/// SQL only).
macro_rules! select_tokens {
    ($where:literal) => {
        concat!(
            "SELECT t.id, t.user_id, t.name, t.scope, t.tenant_id, t.created_at, t.expires_at, ",
            "t.last_used_at, u.email AS owner_email, u.role AS owner_role, ",
            "u.tenant_id AS owner_tenant, u.token_version AS owner_version ",
            "FROM api_tokens t JOIN dashboard_users u ON u.id = t.user_id ",
            "WHERE t.revoked_at IS NULL AND ",
            $where
        )
    };
}

/// How long a token's row stays after it was revoked or expired: every instance's watch reads
/// it within seconds; a day leaves room for one that was down meanwhile.
pub const ENDED_KEPT_SECS: i64 = 86_400;

/// A token to store: its secret already hashed.
#[derive(Debug, Clone, Copy)]
pub struct NewTokenRow<'a> {
    pub user_id: i64,
    pub name: &'a str,
    pub scope: &'a str,
    pub tenant_id: Option<&'a str>,
    pub secret_hash: &'a str,
    pub created_at: i64,
    pub expires_at: i64,
}

impl Storage {
    /// Stores a token unless its user already holds `max_per_user` live ones (neither expired
    /// nor revoked); its id, or `None` when the user is at the limit. The user's tokens expired
    /// or revoked over [`ENDED_KEPT_SECS`] ago go.
    pub async fn insert_api_token(
        &self,
        token: NewTokenRow<'_>,
        max_per_user: i64,
    ) -> Result<Option<i64>, StorageError> {
        let sweep = "DELETE FROM api_tokens WHERE user_id = $1 \
                     AND (expires_at <= $2 OR revoked_at <= $2)";
        let ended_before = token.created_at - ENDED_KEPT_SECS;
        with_pool!(self, pool => sqlx::query(sweep).bind(token.user_id).bind(ended_before)
            .execute(pool).await.map(drop))?;
        // The limit in the same statement as the insert: two at once cannot both pass it.
        let insert = "INSERT INTO api_tokens (user_id, name, scope, tenant_id, secret_hash, \
                      created_at, expires_at) SELECT $1, $2, $3, $4, $5, $6, $7 \
                      WHERE (SELECT COUNT(*) FROM api_tokens WHERE user_id = $1 \
                      AND revoked_at IS NULL AND expires_at > $6) < $8 \
                      RETURNING id";
        Ok(with_pool!(self, pool => sqlx::query_scalar(insert)
            .bind(token.user_id)
            .bind(token.name)
            .bind(token.scope)
            .bind(token.tenant_id)
            .bind(token.secret_hash)
            .bind(token.created_at)
            .bind(token.expires_at)
            .bind(max_per_user)
            .fetch_optional(pool)
            .await)?)
    }

    /// The token whose secret hashes to `secret_hash`, with its owner as it is now.
    pub async fn api_token_by_hash(
        &self,
        secret_hash: &str,
    ) -> Result<Option<ApiTokenRow>, StorageError> {
        let sql = select_tokens!("t.secret_hash = $1");
        Ok(
            with_pool!(self, pool => sqlx::query_as(sql).bind(secret_hash).fetch_optional(pool).await)?,
        )
    }

    /// The token `id`, with its owner.
    pub async fn api_token(&self, id: i64) -> Result<Option<ApiTokenRow>, StorageError> {
        let sql = select_tokens!("t.id = $1");
        Ok(with_pool!(self, pool => sqlx::query_as(sql).bind(id).fetch_optional(pool).await)?)
    }

    /// Tokens by owner: of the user `user`, of the users of `tenant`, or (both `None`) every
    /// token; newest first.
    pub async fn api_tokens(
        &self,
        user: Option<i64>,
        tenant: Option<&str>,
    ) -> Result<Vec<ApiTokenRow>, StorageError> {
        let sql = select_tokens!(
            "($1 IS NULL OR t.user_id = $1) AND ($2 IS NULL OR u.tenant_id = $2) \
             ORDER BY t.id DESC"
        );
        Ok(
            with_pool!(self, pool => sqlx::query_as(sql).bind(user).bind(tenant).fetch_all(pool).await)?,
        )
    }

    /// Notes a token's use at `at`; writes only when the last noted use is older than
    /// `coarser_than` seconds, so a busy script costs a write a minute, not one a request.
    pub async fn touch_api_token(
        &self,
        id: i64,
        at: i64,
        coarser_than: i64,
    ) -> Result<(), StorageError> {
        let sql = "UPDATE api_tokens SET last_used_at = $2 WHERE id = $1 \
                   AND (last_used_at IS NULL OR last_used_at < $3)";
        with_pool!(self, pool => sqlx::query(sql).bind(id).bind(at).bind(at - coarser_than)
            .execute(pool).await.map(drop))?;
        Ok(())
    }

    /// Revokes the token `id` at `at`; whether it was live until then.
    pub async fn revoke_api_token(&self, id: i64, at: i64) -> Result<bool, StorageError> {
        let sql = "UPDATE api_tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL";
        let done = with_pool!(self, pool => sqlx::query(sql).bind(id).bind(at).execute(pool).await
            .map(|done| done.rows_affected()))?;
        Ok(done > 0)
    }

    /// The tokens revoked at or after `since`, or whose expiry fell in `since..=now`: the live
    /// sockets' watch closes those it holds.
    pub async fn api_tokens_ended(&self, since: i64, now: i64) -> Result<Vec<i64>, StorageError> {
        let sql = "SELECT id FROM api_tokens WHERE revoked_at >= $1 \
                   OR (expires_at >= $1 AND expires_at <= $2)";
        Ok(
            with_pool!(self, pool => sqlx::query_scalar(sql).bind(since).bind(now).fetch_all(pool).await)?,
        )
    }
}
