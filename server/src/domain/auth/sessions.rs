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

/// A user's sessions moved on: its token version is now `version`, or it has none left (`None`:
/// removed, or signed out everywhere). A live socket of that user holding another version ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Revocation {
    pub user: i64,
    pub version: Option<i64>,
}

impl Revocation {
    fn ends(self, session: UserSession) -> bool {
        self.user == session.user && self.version != Some(session.version)
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

/// Resolves when `session` ends — revoked, or revocations missed, which a socket cannot tell
/// apart from its own — and never for a token that names no user.
pub async fn session_ended(
    receiver: &mut broadcast::Receiver<Revocation>,
    session: Option<UserSession>,
) {
    let Some(session) = session else {
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
        let session = Some(UserSession {
            user: 2,
            version: 3,
        });
        let revoke = |user, version| revocations.revoke(Revocation { user, version });
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
}
