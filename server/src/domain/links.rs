//! One-time links: an invitation, with which a new user sets its password and joins with the
//! role and tenant it was invited to, and a password reset, with which an existing user sets a
//! new one. A link carries a secret nobody can guess, kept only as its digest; it is shown once
//! to whoever made it, works once, and expires ([`INVITE_TTL_SECS`], [`RESET_TTL_SECS`]).
//! Making a reset link ends the user's sessions at once: whoever held one is out.

use app::dto::users::{LinkKind, LinkStatus};
use time::OffsetDateTime;

use crate::{
    domain::{
        audit::{self, Action, Actor, ClientAddr, Entry},
        users::{self, NewUser, Role, UserError},
    },
    secrets,
    storage::{
        Storage, StorageError,
        one_time_links::{LinkRow, NewLinkRow},
        reads::UserRow,
    },
};

/// How long an invitation may wait to be accepted: a long weekend.
pub const INVITE_TTL_SECS: i64 = 72 * 3600;
/// How long a reset link works: whoever asked is about to use it.
pub const RESET_TTL_SECS: i64 = 2 * 3600;
/// Open links (unused, unexpired) one maker may have at once: each is a row.
pub const MAX_OPEN_LINKS_PER_MAKER: i64 = 100;

#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("this link was used already: ask for a new one")]
    Used,
    #[error("this link has expired: ask for a new one")]
    Expired,
    #[error("this link is not one of ours: check it was copied whole")]
    Unknown,
    #[error(
        "at most {MAX_OPEN_LINKS_PER_MAKER} open links per maker: wait for some to be used or expire"
    )]
    TooMany,
    #[error(transparent)]
    User(#[from] UserError),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// A link just made: its secret (for the URL, shown once) and when it expires (unix seconds).
#[derive(Debug, Clone)]
pub struct MadeLink {
    pub secret: String,
    pub email: String,
    pub expires_at: i64,
}

/// What `row` is for.
pub fn kind_of(row: &LinkRow) -> LinkKind {
    if row.kind == "reset" {
        LinkKind::Reset
    } else {
        LinkKind::Invite
    }
}

fn kind_str(kind: LinkKind) -> &'static str {
    match kind {
        LinkKind::Invite => "invite",
        LinkKind::Reset => "reset",
    }
}

async fn make(
    storage: &Storage,
    kind: LinkKind,
    email: &str,
    role: Role,
    tenant: Option<&str>,
    by: &Actor,
) -> Result<MadeLink, LinkError> {
    let secret = secrets::random_url_token();
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let ttl = match kind {
        LinkKind::Invite => INVITE_TTL_SECS,
        LinkKind::Reset => RESET_TTL_SECS,
    };
    let row = NewLinkRow {
        kind: kind_str(kind),
        secret_hash: &secrets::digest(&secret),
        email,
        role: role.as_str(),
        tenant_id: tenant,
        created_by: &by.name,
        created_at: now,
        expires_at: now + ttl,
    };
    storage
        .insert_link(row, MAX_OPEN_LINKS_PER_MAKER)
        .await?
        .ok_or(LinkError::TooMany)?;
    Ok(MadeLink {
        secret,
        email: email.to_owned(),
        expires_at: now + ttl,
    })
}

/// Invites `user` (no password yet) and records who did it; the link replaces any open
/// invitation to the same email.
pub async fn invite(
    storage: &Storage,
    user: &NewUser,
    by: Actor,
    client: ClientAddr,
) -> Result<MadeLink, LinkError> {
    let email = users::valid_email(&user.email)?;
    users::check_role(storage, user.role, user.tenant.as_deref()).await?;
    if storage.user_by_email(&email).await?.is_some() {
        return Err(UserError::EmailTaken(email).into());
    }
    let made = make(
        storage,
        LinkKind::Invite,
        &email,
        user.role,
        user.tenant.as_deref(),
        &by,
    )
    .await?;
    let mut entry = Entry::new(by, Action::UserInvite, client)
        .target(&email)
        .detail("role", user.role.as_str());
    if let Some(tenant) = &user.tenant {
        entry = entry.detail("tenant", tenant.as_str());
    }
    audit::record(storage, entry).await;
    Ok(made)
}

/// A reset link for `user`, whose sessions end at once (its id is returned with the link, for
/// its live sockets to be closed); records who did it.
pub async fn reset(
    storage: &Storage,
    user: &UserRow,
    by: Actor,
    client: ClientAddr,
) -> Result<MadeLink, LinkError> {
    storage
        .bump_token_version(&user.email)
        .await?
        .ok_or_else(|| UserError::NoSuchUser(user.email.clone()))?;
    let role = Role::parse(&user.role).unwrap_or(Role::Member);
    let made = make(
        storage,
        LinkKind::Reset,
        &user.email,
        role,
        user.tenant_id.as_deref(),
        &by,
    )
    .await?;
    let entry = Entry::new(by, Action::PasswordResetLink, client).target(&user.email);
    audit::record(storage, entry).await;
    Ok(made)
}

/// What the link with `secret` is, and whether it may still be used.
pub async fn inspect(
    storage: &Storage,
    secret: &str,
) -> Result<(LinkStatus, Option<LinkRow>), StorageError> {
    let Some(row) = storage.link_by_hash(&secrets::digest(secret)).await? else {
        return Ok((LinkStatus::Unknown, None));
    };
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let status = if row.used_at.is_some() {
        LinkStatus::Used
    } else if row.expires_at <= now {
        LinkStatus::Expired
    } else {
        LinkStatus::Open
    };
    Ok((status, Some(row)))
}

/// Uses the link with `secret` to set `password_hash` (already checked and hashed): a new
/// user for an invitation, a new password for a reset. The user as it now is. Refused when the
/// link was used meanwhile, has expired or is not ours.
pub async fn redeem(
    storage: &Storage,
    secret: &str,
    password_hash: &str,
    client: ClientAddr,
) -> Result<(LinkKind, UserRow), LinkError> {
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let Some(row) = storage.use_link(&secrets::digest(secret), now).await? else {
        return Err(match inspect(storage, secret).await?.0 {
            LinkStatus::Used => LinkError::Used,
            LinkStatus::Expired | LinkStatus::Open => LinkError::Expired,
            LinkStatus::Unknown => LinkError::Unknown,
        });
    };
    let kind = kind_of(&row);
    let actor = Actor::anonymous(&row.email);
    let id = match kind {
        LinkKind::Invite => {
            if storage.user_by_email(&row.email).await?.is_some() {
                return Err(UserError::EmailTaken(row.email).into());
            }
            let id = storage
                .insert_user(
                    &row.email,
                    password_hash,
                    &row.role,
                    row.tenant_id.as_deref(),
                )
                .await?;
            let entry = Entry::new(actor, Action::UserJoin, client)
                .target(&row.email)
                .detail("role", row.role.as_str())
                .detail("invited_by", row.created_by.as_str());
            audit::record(storage, entry).await;
            id
        }
        LinkKind::Reset => {
            let (id, _) = users::set_password(
                storage,
                &row.email,
                password_hash,
                Action::PasswordReset,
                actor,
                client,
            )
            .await?;
            id
        }
    };
    let user = storage
        .user_by_id(id)
        .await?
        .ok_or_else(|| UserError::NoSuchUser(row.email.clone()))?;
    Ok((kind, user))
}
