//! Dashboard users: an email, an argon2id password hash, and a role — one of the platform's
//! (`admin`, `operator`, `viewer`: every tenant) or of one tenant (`owner`, `member`). Sign-in
//! and sessions build on this.

pub use app::dto::auth::Role;
use argon2::{
    Argon2, PasswordHash, PasswordHasher, PasswordVerifier,
    password_hash::{SaltString, rand_core::OsRng},
};

use crate::{
    domain::audit::{Action, ClientAddr, Entry},
    storage::{Storage, StorageError},
};

/// `--role admin|operator|viewer|owner|member` on the command line; `tenant`, the name of a
/// tenant's role before there were five, is still taken and means `owner`, so provisioning
/// scripts written for it keep working.
pub fn parse_role(value: &str) -> Result<Role, String> {
    if value == crate::domain::auth::LEGACY_TENANT_ROLE {
        return Ok(Role::Owner);
    }
    Role::parse(value).ok_or_else(|| {
        let names: Vec<_> = Role::ALL.iter().map(|role| role.as_str()).collect();
        format!("expected one of {}, got {value:?}", names.join(", "))
    })
}

#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error("a user with email {0} already exists")]
    EmailTaken(String),
    #[error("{0}")]
    Invalid(&'static str),
    #[error("unknown tenant {0}")]
    UnknownTenant(String),
    #[error("cannot hash the password: {0}")]
    Hash(String),
    #[error("no user with email {0}")]
    NoSuchUser(String),
    #[error("{0} is the last admin: make another user an admin first")]
    LastAdmin(String),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// A new user, validated before anything is stored.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub email: String,
    pub role: Role,
    /// Required for tenants, refused for admins.
    pub tenant: Option<String>,
}

/// Shortest accepted password.
pub const MIN_PASSWORD_LEN: usize = 10;

/// An argon2id hash (PHC string, random salt) of `password`.
pub fn hash_password(password: &str) -> Result<String, UserError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|error| UserError::Hash(error.to_string()))
}

/// Whether `password` matches `hash`; a malformed hash matches nothing.
pub fn verify_password(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

/// An email as users are stored and looked up by: trimmed and lowercased, so `Ops@Acme.test `
/// signs in as `ops@acme.test`.
pub fn normalized_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// `email` as stored, or why no user can have it.
pub fn valid_email(email: &str) -> Result<String, UserError> {
    let email = normalized_email(email);
    if !email.contains('@') || email.len() > 254 || email.chars().any(char::is_whitespace) {
        return Err(UserError::Invalid("email: not an email address"));
    }
    Ok(email)
}

/// Validates and stores a user; returns its id.
/// Adds `user` and records who did it (`by`) in the audit log.
pub async fn add_user(
    storage: &Storage,
    user: &NewUser,
    password: &str,
    by: crate::domain::audit::Actor,
) -> Result<i64, UserError> {
    let email = valid_email(&user.email)?;
    if password.chars().count() < MIN_PASSWORD_LEN {
        return Err(UserError::Invalid("password: at least 10 characters"));
    }
    check_role(storage, user.role, user.tenant.as_deref()).await?;
    if storage.user_by_email(&email).await?.is_some() {
        return Err(UserError::EmailTaken(email));
    }
    let hash = hash_password(password)?;
    let id = storage
        .insert_user(&email, &hash, user.role.as_str(), user.tenant.as_deref())
        .await?;
    let mut entry = Entry::new(by, Action::UserAdd, ClientAddr::default())
        .target(&email)
        .detail("role", user.role.as_str());
    if let Some(tenant) = &user.tenant {
        entry = entry.detail("tenant", tenant.as_str());
    }
    crate::domain::audit::record(storage, entry).await;
    Ok(id)
}

/// An owner or member names a known tenant; the platform's roles name none.
pub(crate) async fn check_role(
    storage: &Storage,
    role: Role,
    tenant: Option<&str>,
) -> Result<(), UserError> {
    match (role.is_platform(), tenant) {
        (false, None) => Err(UserError::Invalid(
            "an owner or member needs --tenant: the tenant it belongs to",
        )),
        (true, Some(_)) => Err(UserError::Invalid(
            "the platform's roles see every tenant: no --tenant",
        )),
        (false, Some(tenant)) if storage.tenant_name(tenant).await?.is_none() => {
            Err(UserError::UnknownTenant(tenant.to_owned()))
        }
        _ => Ok(()),
    }
}

/// Gives the user `email` the role `role` (a tenant user: of `tenant`), ending the sessions it
/// holds, and records who did it; returns the user's id.
pub async fn set_role(
    storage: &Storage,
    email: &str,
    role: Role,
    tenant: Option<&str>,
    by: crate::domain::audit::Actor,
) -> Result<i64, UserError> {
    let email = normalized_email(email);
    check_role(storage, role, tenant).await?;
    let Some(id) = storage.set_user_role(&email, role.as_str(), tenant).await? else {
        return Err(missing_or_last_admin(storage, email).await);
    };
    let mut entry = Entry::new(by, Action::UserSetRole, ClientAddr::default())
        .target(&email)
        .detail("role", role.as_str());
    if let Some(tenant) = tenant {
        entry = entry.detail("tenant", tenant);
    }
    crate::domain::audit::record(storage, entry).await;
    Ok(id)
}

/// Removes the user `email` (its sessions end with it) and records who did it.
pub async fn remove(
    storage: &Storage,
    email: &str,
    by: crate::domain::audit::Actor,
) -> Result<i64, UserError> {
    let email = normalized_email(email);
    let Some(id) = storage.remove_user(&email).await? else {
        return Err(missing_or_last_admin(storage, email).await);
    };
    let entry = Entry::new(by, Action::UserRemove, ClientAddr::default()).target(&email);
    crate::domain::audit::record(storage, entry).await;
    Ok(id)
}

/// Why a change to `email` found no user to change: there is none, or it is the last admin.
async fn missing_or_last_admin(storage: &Storage, email: String) -> UserError {
    match storage.user_by_email(&email).await {
        Ok(Some(_)) => UserError::LastAdmin(email),
        Ok(None) => UserError::NoSuchUser(email),
        Err(error) => UserError::Storage(error),
    }
}

/// Stores `hash` as the password of the user `email`, ending every session it holds (whoever
/// knew the old password is out), and records `action` (a change or a reset) by `by`: the
/// user's id and its new token version.
pub async fn set_password(
    storage: &Storage,
    email: &str,
    hash: &str,
    action: Action,
    by: crate::domain::audit::Actor,
    client: ClientAddr,
) -> Result<(i64, i64), UserError> {
    let email = normalized_email(email);
    let (id, version) = storage
        .set_password_hash(&email, hash)
        .await?
        .ok_or_else(|| UserError::NoSuchUser(email.clone()))?;
    let entry = Entry::new(by, action, client).target(&email);
    crate::domain::audit::record(storage, entry).await;
    Ok((id, version))
}

/// Ends every session of the user `email`, wherever it signed in, and records who did it.
pub async fn sign_out_everywhere(
    storage: &Storage,
    email: &str,
    by: crate::domain::audit::Actor,
    client: ClientAddr,
) -> Result<i64, UserError> {
    let email = normalized_email(email);
    let id = storage
        .bump_token_version(&email)
        .await?
        .ok_or_else(|| UserError::NoSuchUser(email.clone()))?;
    let entry = Entry::new(by, Action::SignOutEverywhere, client).target(&email);
    crate::domain::audit::record(storage, entry).await;
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_differ_per_salt() {
        let first = hash_password("correct horse battery").unwrap();
        let second = hash_password("correct horse battery").unwrap();
        assert_ne!(first, second);
        assert!(first.starts_with("$argon2id$"));
        assert!(verify_password(&first, "correct horse battery"));
        assert!(!verify_password(&first, "correct horse battery!"));
        assert!(!verify_password("not a hash", "anything"));
    }
}
