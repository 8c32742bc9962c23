//! The audit log: every operator action — DLQ retry / retry all / discard, reconciliation
//! trigger, user added / given a role / removed, a password changed or reset, signing out
//! everywhere, failed sign-ins — with who, role, tenant, action, target, result, when
//! and from where. Entries are only ever appended ([`crate::storage::operations`]; the schema
//! refuses changes), and admins read them through the API.
//!
//! Failed sign-ins are recorded at most [`SIGN_IN_FAILURES_PER_MINUTE`] a minute, and at most
//! [`SIGN_IN_FAILURES_PER_CLIENT_PER_MINUTE`] of those from one client, so guessing passwords
//! cannot flood the log and one guesser cannot crowd out another's entries: the entries left
//! out are counted in the next one written. A burst against one email
//! ([`crate::domain::auth::SignInLimits::failed`]) is always recorded, once.

use std::{
    net::IpAddr,
    num::NonZeroU32,
    sync::atomic::{AtomicU64, Ordering},
};

pub use app::data::ClientAddr;
use app::dto::{admin::AuditEntry, auth::Identity};
use serde_json::{Map, Value};
use time::{OffsetDateTime, PrimitiveDateTime};
use tracing::error;

use crate::storage::{Storage, operations::AuditRow, record::utc};

/// Where entries are recorded for admins to see live: the server's state, for everything above
/// this layer.
pub trait AuditSink: Sync {
    fn audit(&self, entry: Entry) -> impl Future<Output = ()> + Send;
}

/// What an operator did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    DlqRetry,
    DlqRetryAll,
    DlqDiscard,
    ReconciliationTrigger,
    UserAdd,
    UserSetRole,
    UserRemove,
    PasswordChange,
    PasswordReset,
    SignOutEverywhere,
    SignInFailed,
    SignInBurst,
    ApiTokenCreate,
    ApiTokenRevoke,
    UserInvite,
    UserInviteCancel,
    UserJoin,
    PasswordResetLink,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::DlqRetry => "dlq.retry",
            Self::DlqRetryAll => "dlq.retry_all",
            Self::DlqDiscard => "dlq.discard",
            Self::ReconciliationTrigger => "reconciliation.trigger",
            Self::UserAdd => "user.add",
            Self::UserSetRole => "user.set_role",
            Self::UserRemove => "user.remove",
            Self::PasswordChange => "user.password_change",
            Self::PasswordReset => "user.password_reset",
            Self::SignOutEverywhere => "auth.sign_out_everywhere",
            Self::SignInFailed => "auth.sign_in_failed",
            Self::SignInBurst => "auth.sign_in_burst",
            Self::ApiTokenCreate => "api_token.create",
            Self::ApiTokenRevoke => "api_token.revoke",
            Self::UserInvite => "user.invite",
            Self::UserInviteCancel => "user.invite_cancel",
            Self::UserJoin => "user.join",
            Self::PasswordResetLink => "user.reset_link",
        }
    }
}

/// Who did it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub name: String,
    pub role: String,
    pub tenant: Option<String>,
}

impl Actor {
    /// A signed-in user (session cookie or bearer token).
    pub fn user(identity: &Identity) -> Self {
        Self {
            name: identity.subject.clone(),
            role: identity.role.as_str().to_owned(),
            tenant: identity.tenant.clone(),
        }
    }

    /// A script holding `INTERNAL_API_KEY`.
    pub fn internal_key() -> Self {
        Self {
            name: "internal-api-key".to_owned(),
            role: "internal".to_owned(),
            tenant: None,
        }
    }

    /// The `switchboard` command line, run by `os_user`.
    pub fn cli(os_user: Option<String>) -> Self {
        Self {
            name: os_user.map_or_else(|| "cli".to_owned(), |user| format!("cli:{user}")),
            role: "cli".to_owned(),
            tenant: None,
        }
    }

    /// Someone not signed in, who claimed to be `email`.
    pub fn anonymous(email: &str) -> Self {
        Self {
            name: email.to_owned(),
            role: "anonymous".to_owned(),
            tenant: None,
        }
    }
}

/// One entry about to be written.
#[derive(Debug, Clone)]
pub struct Entry {
    pub actor: Actor,
    pub action: Action,
    pub target: Option<String>,
    /// `ok`, `not_found`, `already_running`, `refused`, `throttled` or `failed`.
    pub result: &'static str,
    pub client: ClientAddr,
    pub detail: Map<String, Value>,
}

impl Entry {
    pub fn new(actor: Actor, action: Action, client: ClientAddr) -> Self {
        Self {
            actor,
            action,
            target: None,
            result: "ok",
            client,
            detail: Map::new(),
        }
    }

    pub fn target(mut self, target: impl ToString) -> Self {
        self.target = Some(target.to_string());
        self
    }

    pub fn result(mut self, result: &'static str) -> Self {
        self.result = result;
        self
    }

    pub fn detail(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.detail.insert(key.to_owned(), value.into());
        self
    }

    fn into_row(mut self, at: PrimitiveDateTime) -> AuditRow {
        if let Some(forwarded) = self.client.forwarded_for {
            self.detail
                .insert("forwarded_for".to_owned(), Value::from(forwarded));
        }
        AuditRow {
            id: 0,
            at,
            actor: self.actor.name,
            role: self.actor.role,
            tenant_id: self.actor.tenant,
            action: self.action.as_str().to_owned(),
            target: self.target,
            result: self.result.to_owned(),
            client_addr: self.client.peer,
            detail: (!self.detail.is_empty()).then(|| Value::Object(self.detail).to_string()),
        }
    }
}

/// Appends `entry` and returns it as stored. The action it records has already happened, so a
/// failure to record it does not undo or fail the action: it is logged as an error for the
/// operator to see. Use an [`AuditSink`] where admins should see the entry live.
pub async fn record(storage: &Storage, entry: Entry) -> Option<AuditEntry> {
    let action = entry.action.as_str();
    let row = entry.into_row(utc(OffsetDateTime::now_utc()));
    match storage.append_audit(&row).await {
        Ok(id) => Some(entry_of(AuditRow { id, ..row })),
        Err(error) => {
            error!(%error, action, actor = %row.actor, target = ?row.target, result = %row.result,
                   "an operator action could not be written to the audit log");
            None
        }
    }
}

/// Failed sign-ins recorded per minute, at most.
pub const SIGN_IN_FAILURES_PER_MINUTE: u32 = 60;
/// Of those, from one client (an address, or an IPv6 /64).
pub const SIGN_IN_FAILURES_PER_CLIENT_PER_MINUTE: u32 = 20;

/// Keeps failed sign-ins from flooding the log.
#[derive(Debug)]
pub struct SignInFailureLog {
    limiter: governor::DefaultDirectRateLimiter,
    per_client: governor::DefaultKeyedRateLimiter<IpAddr>,
    early_purge: crate::domain::auth::Throttle,
    left_out: AtomicU64,
}

impl Default for SignInFailureLog {
    fn default() -> Self {
        let per_minute =
            |count| governor::Quota::per_minute(NonZeroU32::new(count).unwrap_or(NonZeroU32::MIN));
        Self {
            limiter: governor::RateLimiter::direct(per_minute(SIGN_IN_FAILURES_PER_MINUTE)),
            per_client: governor::RateLimiter::keyed(per_minute(
                SIGN_IN_FAILURES_PER_CLIENT_PER_MINUTE,
            )),
            early_purge: crate::domain::auth::Throttle::default(),
            left_out: AtomicU64::new(0),
        }
    }
}

impl SignInFailureLog {
    /// Records a failed sign-in from `client` unless over its client's rate or the overall
    /// one; the next one recorded says how many were left out meanwhile.
    pub async fn record(&self, sink: &impl AuditSink, client: Option<IpAddr>, mut entry: Entry) {
        if self.per_client.len() > crate::domain::auth::LIMITER_KEYS && self.early_purge.due() {
            self.purge();
        }
        let client_allowed = client.is_none_or(|client| {
            self.per_client
                .check_key(&crate::domain::auth::client_key(client))
                .is_ok()
        });
        if !client_allowed || self.limiter.check().is_err() {
            self.left_out.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let left_out = self.left_out.swap(0, Ordering::Relaxed);
        if left_out > 0 {
            entry = entry.detail("not_recorded_since_last", left_out);
        }
        sink.audit(entry).await;
    }

    /// Forgets clients whose allowance has refilled.
    pub fn purge(&self) {
        self.per_client.retain_recent();
        self.per_client.shrink_to_fit();
    }
}

/// A stored entry as the API shows it.
pub fn entry_of(row: AuditRow) -> AuditEntry {
    AuditEntry {
        id: row.id,
        at: row.at.assume_utc(),
        actor: row.actor,
        role: row.role,
        tenant_id: row.tenant_id,
        action: row.action,
        target: row.target,
        result: row.result,
        client_addr: row.client_addr,
        detail: row
            .detail
            .and_then(|detail| serde_json::from_str(&detail).ok()),
    }
}
