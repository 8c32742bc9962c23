//! Invitations and reset links from the doors (REST and the users page's forms): an admin
//! invites anyone and resets anyone's password, an owner only owners and members of its own
//! tenant — the same rules as every other change to users ([`super::users`]). A reset ends the
//! user's sessions and closes its live sockets at once. The page a link opens reads
//! [`page`]; using it is the HTTP layer's (it hashes the password).

use app::dto::{
    auth::{Identity, Permission},
    error::DataError,
    users::{
        Invitation, InvitationsResponse, LinkInfo, LinkKind, LinkStatus, OneTimeLink,
        PendingInvitation,
    },
};

use super::users::{close_sockets, managed, managed_tenant};
use crate::{
    domain::{
        audit::{Actor, ClientAddr},
        auth::AuthError,
        links::{self, LinkError, MadeLink},
        users::{NewUser, Role},
    },
    runtime::state::AppState,
};

impl From<LinkError> for DataError {
    fn from(error: LinkError) -> Self {
        match error {
            LinkError::Used | LinkError::Expired => DataError::Conflict(error.to_string()),
            LinkError::Unknown => DataError::NotFound(error.to_string()),
            LinkError::TooMany => DataError::Conflict(error.to_string()),
            LinkError::User(error) => error.into(),
            LinkError::Storage(error) => error.into(),
        }
    }
}

/// The path of a link's page.
pub fn link_path(kind: LinkKind, secret: &str) -> String {
    let folder = match kind {
        LinkKind::Invite => "welcome",
        LinkKind::Reset => "reset",
    };
    format!("/{folder}/{secret}")
}

/// Where a link's page is, under `origin` (this site, as its users reach it).
pub fn link_url(origin: &str, kind: LinkKind, secret: &str) -> String {
    format!(
        "{}{}",
        origin.trim_end_matches('/'),
        link_path(kind, secret)
    )
}

/// The link made, mailed to its user when a mail server is set.
async fn answer(
    state: &AppState,
    caller: &Identity,
    origin: &str,
    kind: LinkKind,
    made: MadeLink,
) -> Result<OneTimeLink, DataError> {
    let expires_at = time::OffsetDateTime::from_unix_timestamp(made.expires_at)
        .map_err(|error| DataError::Internal(error.to_string()))?;
    let link = link_url(origin, kind, &made.secret);
    let emailed = match &state.mailer {
        Some(mailer) => {
            let (subject, body) = message(caller, kind, &link, expires_at);
            match mailer.send(&made.email, subject, body).await {
                Ok(()) => true,
                Err(error) => {
                    tracing::warn!(%error, kind = ?kind, "cannot mail a link: its maker sends it");
                    false
                }
            }
        }
        None => false,
    };
    Ok(OneTimeLink {
        success: true,
        kind,
        link,
        email: made.email,
        expires_at,
        emailed,
    })
}

/// The message that carries a link: its subject and plain-text body.
fn message(
    caller: &Identity,
    kind: LinkKind,
    link: &str,
    expires_at: time::OffsetDateTime,
) -> (&'static str, String) {
    let until = format!(
        "{} {:02}:{:02} UTC",
        expires_at.date(),
        expires_at.hour(),
        expires_at.minute()
    );
    match kind {
        LinkKind::Invite => (
            "You are invited to Switchboard",
            format!(
                "{} invited you to Switchboard, the live view of your calls.\n\n\
                 Choose your password here; the link works once, until {until}:\n\n{link}\n",
                caller.subject
            ),
        ),
        LinkKind::Reset => (
            "Set a new Switchboard password",
            format!(
                "{} asked for your Switchboard password to be reset, and your sessions have \
                 ended.\n\nSet a new password here; the link works once, until {until}:\n\n\
                 {link}\n\nIf you did not expect this, tell whoever manages your account.\n",
                caller.subject
            ),
        ),
    }
}

/// Invites someone: an owner only as owner or member of its own tenant.
pub async fn invite(
    state: &AppState,
    caller: &Identity,
    invitation: &Invitation,
    client: ClientAddr,
    origin: &str,
) -> Result<OneTimeLink, DataError> {
    let tenant = match managed_tenant(caller)? {
        None => invitation
            .tenant
            .clone()
            .filter(|tenant| !tenant.trim().is_empty()),
        Some(own) => {
            if invitation.role.is_platform() {
                return Err(AuthError::Forbidden(Permission::ManageUsers).into());
            }
            if invitation
                .tenant
                .as_deref()
                .is_some_and(|tenant| !tenant.is_empty() && tenant != own)
            {
                return Err(AuthError::ForeignTenant.into());
            }
            Some(own.to_owned())
        }
    };
    let user = NewUser {
        email: invitation.email.clone(),
        role: invitation.role,
        tenant,
    };
    let made = links::invite(&state.storage, &user, Actor::user(caller), client).await?;
    answer(state, caller, origin, LinkKind::Invite, made).await
}

/// The open invitations the caller manages: every one (admins), its tenant's (owners).
pub async fn invitations(
    state: &AppState,
    caller: &Identity,
) -> Result<InvitationsResponse, DataError> {
    let tenant = managed_tenant(caller)?;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let rows = state.storage.open_invitations(tenant, now).await?;
    let invitations = rows
        .into_iter()
        .filter_map(|row| {
            Some(PendingInvitation {
                role: Role::parse(&row.role)?,
                expires_at: time::OffsetDateTime::from_unix_timestamp(row.expires_at).ok()?,
                email: row.email,
                tenant: row.tenant_id,
                invited_by: row.created_by,
            })
        })
        .collect();
    Ok(InvitationsResponse {
        success: true,
        invitations,
    })
}

/// Cancels the open invitation to `email`: its link no longer works. One the caller does not
/// manage is as missing as none.
pub async fn cancel_invitation(
    state: &AppState,
    caller: &Identity,
    email: &str,
    client: ClientAddr,
) -> Result<(), DataError> {
    let tenant = managed_tenant(caller)?;
    let email = crate::domain::users::normalized_email(email);
    if !state.storage.cancel_invitation(&email, tenant).await? {
        return Err(DataError::NotFound(format!(
            "no open invitation to {email} among yours"
        )));
    }
    let entry = crate::domain::audit::Entry::new(
        Actor::user(caller),
        crate::domain::audit::Action::UserInviteCancel,
        client,
    )
    .target(&email);
    state.audit(entry).await;
    Ok(())
}

/// A reset link for `email`, one of the caller's users; its sessions end now.
pub async fn reset(
    state: &AppState,
    caller: &Identity,
    email: &str,
    client: ClientAddr,
    origin: &str,
) -> Result<OneTimeLink, DataError> {
    let target = managed(state, managed_tenant(caller)?, email).await?;
    let made = links::reset(&state.storage, &target, Actor::user(caller), client).await?;
    close_sockets(state, target.id);
    answer(state, caller, origin, LinkKind::Reset, made).await
}

/// What the page of the link with `secret` shows; the email, role and tenant only while the
/// link still works.
pub async fn page(state: &AppState, secret: &str) -> Result<LinkInfo, DataError> {
    let (status, row) = links::inspect(&state.storage, secret).await?;
    let open = status == LinkStatus::Open;
    let row = row.filter(|_| open);
    Ok(LinkInfo {
        status,
        kind: row.as_ref().map(links::kind_of),
        email: row.as_ref().map(|row| row.email.clone()),
        role: row.as_ref().and_then(|row| Role::parse(&row.role)),
        tenant: row.and_then(|row| row.tenant_id),
    })
}
