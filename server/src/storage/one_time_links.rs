//! The `one_time_links` table: invitations and password resets, each found by the SHA-256 of
//! the secret its link carries and used at most once ([`crate::domain::links`]).

use super::{Storage, StorageError};

/// A link as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct LinkRow {
    pub id: i64,
    /// `invite` or `reset`.
    pub kind: String,
    pub email: String,
    pub role: String,
    pub tenant_id: Option<String>,
    pub created_by: String,
    /// Unix seconds.
    pub created_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
}

/// A link to store: its secret already hashed.
#[derive(Debug, Clone, Copy)]
pub struct NewLinkRow<'a> {
    pub kind: &'a str,
    pub secret_hash: &'a str,
    pub email: &'a str,
    pub role: &'a str,
    pub tenant_id: Option<&'a str>,
    pub created_by: &'a str,
    pub created_at: i64,
    pub expires_at: i64,
}

/// How long a used or expired link's row stays, so its page can say which it was.
pub const ENDED_LINKS_KEPT_SECS: i64 = 7 * 86_400;

macro_rules! select_links {
    ($where:literal) => {
        concat!(
            "SELECT id, kind, email, role, tenant_id, created_by, created_at, expires_at, ",
            "used_at FROM one_time_links WHERE ",
            $where
        )
    };
}

impl Storage {
    /// Stores `link` unless its maker already has `max_open` links open (unused, unexpired);
    /// its id, or `None` at the limit. An open link of the same kind to the same email is
    /// replaced, and links ended over [`ENDED_LINKS_KEPT_SECS`] ago go.
    pub async fn insert_link(
        &self,
        link: NewLinkRow<'_>,
        max_open: i64,
    ) -> Result<Option<i64>, StorageError> {
        let sweep = "DELETE FROM one_time_links WHERE expires_at <= $1 OR used_at <= $1 \
                     OR (email = $2 AND kind = $3 AND used_at IS NULL)";
        let ended_before = link.created_at - ENDED_LINKS_KEPT_SECS;
        with_pool!(self, pool => sqlx::query(sweep).bind(ended_before).bind(link.email)
            .bind(link.kind).execute(pool).await.map(drop))?;
        let insert = "INSERT INTO one_time_links (kind, secret_hash, email, role, tenant_id, \
                      created_by, created_at, expires_at) \
                      SELECT $1, $2, $3, $4, $5, $6, $7, $8 \
                      WHERE (SELECT COUNT(*) FROM one_time_links WHERE created_by = $6 \
                      AND used_at IS NULL AND expires_at > $7) < $9 RETURNING id";
        Ok(with_pool!(self, pool => sqlx::query_scalar(insert)
            .bind(link.kind)
            .bind(link.secret_hash)
            .bind(link.email)
            .bind(link.role)
            .bind(link.tenant_id)
            .bind(link.created_by)
            .bind(link.created_at)
            .bind(link.expires_at)
            .bind(max_open)
            .fetch_optional(pool)
            .await)?)
    }

    /// The link whose secret hashes to `secret_hash`, used or not.
    pub async fn link_by_hash(&self, secret_hash: &str) -> Result<Option<LinkRow>, StorageError> {
        let sql = select_links!("secret_hash = $1");
        Ok(
            with_pool!(self, pool => sqlx::query_as(sql).bind(secret_hash).fetch_optional(pool).await)?,
        )
    }

    /// The invitations still open at `now` (of `tenant`'s users-to-be, or every one), by email.
    pub async fn open_invitations(
        &self,
        tenant: Option<&str>,
        now: i64,
    ) -> Result<Vec<LinkRow>, StorageError> {
        let sql = select_links!(
            "kind = 'invite' AND used_at IS NULL AND expires_at > $1 \
             AND ($2 IS NULL OR tenant_id = $2) ORDER BY email"
        );
        Ok(
            with_pool!(self, pool => sqlx::query_as(sql).bind(now).bind(tenant).fetch_all(pool).await)?,
        )
    }

    /// Cancels the open invitation to `email` (of `tenant`'s, or any); whether there was one.
    pub async fn cancel_invitation(
        &self,
        email: &str,
        tenant: Option<&str>,
    ) -> Result<bool, StorageError> {
        let sql = "DELETE FROM one_time_links WHERE kind = 'invite' AND used_at IS NULL \
                   AND email = $1 AND ($2 IS NULL OR tenant_id = $2)";
        let done = with_pool!(self, pool => sqlx::query(sql).bind(email).bind(tenant)
            .execute(pool).await.map(|done| done.rows_affected()))?;
        Ok(done > 0)
    }

    /// Uses the link whose secret hashes to `secret_hash` at `now`, if it is still open: in one
    /// statement, so two uses at once cannot both succeed.
    pub async fn use_link(
        &self,
        secret_hash: &str,
        now: i64,
    ) -> Result<Option<LinkRow>, StorageError> {
        let sql = "UPDATE one_time_links SET used_at = $2 WHERE secret_hash = $1 \
                   AND used_at IS NULL AND expires_at > $2 RETURNING \
                   id, kind, email, role, tenant_id, created_by, created_at, expires_at, used_at";
        Ok(
            with_pool!(self, pool => sqlx::query_as(sql).bind(secret_hash).bind(now).fetch_optional(pool).await)?,
        )
    }
}
