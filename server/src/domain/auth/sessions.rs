//! Sessions: whether a well-signed token still speaks for its user, and the revocations that
//! close the live sockets of a session that ended.

use tokio::sync::broadcast;
use tracing::warn;

use super::{
    AuthError,
    tokens::{UserSession, Verified},
};
use crate::storage::Storage;

/// Whether `verified`'s session still holds: a token naming a dashboard user holds only while
/// that user exists with the token's version, role and tenant.
pub async fn check_session(storage: &Storage, verified: &Verified) -> Result<(), AuthError> {
    let Some(session) = verified.session else {
        return Ok(());
    };
    let user = storage.user_by_id(session.user).await.map_err(|error| {
        warn!(%error, "cannot read the users table to check a session");
        AuthError::Unchecked
    })?;
    let identity = &verified.identity;
    match user {
        Some(user)
            if user.token_version == session.version
                && user.role == identity.role.as_str()
                && user.tenant_id == identity.tenant =>
        {
            Ok(())
        }
        _ => Err(AuthError::Revoked),
    }
}

/// What a live socket's credential hangs on; the socket ends when it is revoked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holder {
    /// A sign-in of a dashboard user, at its token version then.
    SignIn(UserSession),
    /// An API token (`id`) of the user `user`, checked when that user's token version was
    /// `version`.
    ApiToken { id: i64, user: i64, version: i64 },
}

impl Holder {
    /// The dashboard user the credential speaks for.
    pub fn user(self) -> i64 {
        match self {
            Self::SignIn(session) => session.user,
            Self::ApiToken { user, .. } => user,
        }
    }
}

impl Verified {
    /// What the live sockets of this credential hang on; `None` for a token naming no user.
    pub fn holder(&self) -> Option<Holder> {
        match (self.session, self.api_token) {
            (_, Some(token)) => Some(Holder::ApiToken {
                id: token.id,
                user: token.user,
                version: token.version,
            }),
            (Some(session), None) => Some(Holder::SignIn(session)),
            (None, None) => None,
        }
    }
}

/// Sessions that moved on, or a token revoked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revocation {
    /// A user's sessions moved on: its token version is now `version`, or it has none left
    /// (`None`: removed, or signed out everywhere). A live socket of that user holding another
    /// version ends, an API token's too: a token's scope follows its user's role, so the
    /// socket reconnects to learn what it may still see.
    User { user: i64, version: Option<i64> },
    /// An API token revoked (or its expiry passed).
    ApiToken(i64),
}

impl Revocation {
    fn ends(self, holder: Holder) -> bool {
        match (self, holder) {
            (Self::User { user, version }, Holder::SignIn(session)) => {
                user == session.user && version != Some(session.version)
            }
            (
                Self::User { user, version },
                Holder::ApiToken {
                    user: owner,
                    version: checked,
                    ..
                },
            ) => user == owner && version != Some(checked),
            (Self::ApiToken(revoked), Holder::ApiToken { id, .. }) => revoked == id,
            (Self::ApiToken(_), Holder::SignIn(_)) => false,
        }
    }
}

/// Sessions just ended, told to this instance's live sockets so they close too. Fed at once by
/// this instance's own sign-outs, and by [`crate::runtime::workers`]'s watch on the users table for what
/// other instances and the command line changed.
#[derive(Debug, Clone)]
pub struct Revocations(broadcast::Sender<Revocation>);

/// Revocations a slow socket may fall behind by; one further behind closes (and reconnects,
/// signing in again if it still may).
const REVOCATIONS_BUFFERED: usize = 256;

impl Default for Revocations {
    fn default() -> Self {
        Self(broadcast::channel(REVOCATIONS_BUFFERED).0)
    }
}

impl Revocations {
    /// Ends the live sockets on this instance that `revocation` ends.
    pub fn revoke(&self, revocation: Revocation) {
        // Nobody listening is fine: no socket of anyone is open.
        let _ = self.0.send(revocation);
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Revocation> {
        self.0.subscribe()
    }
}

/// Resolves when `holder` ends — revoked, or revocations missed, which a socket cannot tell
/// apart from its own — and never for a token that names no user.
pub async fn session_ended(receiver: &mut broadcast::Receiver<Revocation>, holder: Option<Holder>) {
    let Some(session) = holder else {
        return std::future::pending().await;
    };
    loop {
        match receiver.recv().await {
            Ok(revocation) if !revocation.ends(session) => {}
            Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => return,
            Err(broadcast::error::RecvError::Closed) => return std::future::pending().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_session_ends_for_its_user_only() {
        let revocations = Revocations::default();
        let mut receiver = revocations.subscribe();
        let session = Some(Holder::SignIn(UserSession {
            user: 2,
            version: 3,
        }));
        let revoke = |user, version| revocations.revoke(Revocation::User { user, version });
        revoke(1, None);
        // Its own version: a sign-in since the watch last looked, not a change.
        revoke(2, Some(3));
        let mut ended = Box::pin(session_ended(&mut receiver, session));
        assert!(
            futures::poll!(&mut ended).is_pending(),
            "not this session's end"
        );
        revoke(2, Some(4));
        ended.await;
        let mut receiver = revocations.subscribe();
        let mut removed = Box::pin(session_ended(&mut receiver, session));
        revoke(2, None);
        removed.as_mut().await;
        // A token naming no user is never ended this way.
        let mut receiver = revocations.subscribe();
        let mut never = Box::pin(session_ended(&mut receiver, None));
        revoke(2, None);
        assert!(futures::poll!(&mut never).is_pending());
    }

    #[tokio::test]
    async fn an_api_token_ends_when_revoked_or_its_user_changes() {
        let revocations = Revocations::default();
        let token = Some(Holder::ApiToken {
            id: 7,
            user: 2,
            version: 4,
        });
        let mut receiver = revocations.subscribe();
        let mut ended = Box::pin(session_ended(&mut receiver, token));
        revocations.revoke(Revocation::ApiToken(8));
        revocations.revoke(Revocation::User {
            user: 3,
            version: None,
        });
        // Its user's version as checked: a user the watch sees for the first time.
        revocations.revoke(Revocation::User {
            user: 2,
            version: Some(4),
        });
        assert!(
            futures::poll!(&mut ended).is_pending(),
            "another's, or no change"
        );
        revocations.revoke(Revocation::ApiToken(7));
        ended.await;
        let mut receiver = revocations.subscribe();
        let mut demoted = Box::pin(session_ended(&mut receiver, token));
        revocations.revoke(Revocation::User {
            user: 2,
            version: Some(9),
        });
        demoted.as_mut().await;
        // A sign-in does not end with a token.
        let mut receiver = revocations.subscribe();
        let sign_in = Some(Holder::SignIn(UserSession {
            user: 2,
            version: 9,
        }));
        let mut kept = Box::pin(session_ended(&mut receiver, sign_in));
        revocations.revoke(Revocation::ApiToken(7));
        assert!(futures::poll!(&mut kept).is_pending());
    }
}
