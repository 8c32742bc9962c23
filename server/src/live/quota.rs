//! What one client may make the live sockets cost.
//!
//! - **Sockets per holder** — `/ws` and Socket.IO together, on this instance. Each costs a task
//!   and buffers; a script opening sockets in a loop would otherwise grow the server without
//!   bound. A signed-in user is one holder (a browser tab holds one socket, so the cap leaves
//!   room for an operator's many tabs and devices); a token that names no user — a platform's
//!   script tokens typically share one subject — is one holder per (subject, tenant), so one
//!   tenant's scripts never use up another tenant's share. All holders together hold at most the
//!   server's connection cap (`SWITCHBOARD_MAX_CONNECTIONS`): an upgraded socket has left the
//!   HTTP connection it came on, so the accept loop's cap no longer counts it.
//! - **Messages per socket** — every client message (`subscribe`, `unsubscribe`, `ping`) spends
//!   from the socket's own [`MessageBudget`]. On `/ws` (our own client, which never comes near
//!   it) a socket that overspends is closed with the reason; on Socket.IO the excess is refused
//!   — dropped, and the socket told why at most once a second — since a server-side disconnect
//!   races the transport's close and socket.io clients do not reconnect after one.
//!   What a message can cost is bounded too: a stream switched on is answered from the room's
//!   shared snapshot ([`crate::service::push::room_state`]), never a query of its own.

use std::{
    collections::HashMap,
    num::NonZeroU32,
    sync::{Arc, Mutex, PoisonError},
};

use app::dto::auth::Identity;

use crate::domain::auth::Holder;

/// Sockets one holder may hold open at once.
pub const MAX_SOCKETS_PER_IDENTITY: usize = 32;
/// Client messages a socket may send per second, after a burst of [`MESSAGE_BURST`]. Our page
/// sends a few per minute; the seed's clients a few per connection.
pub const MESSAGES_PER_SECOND: u32 = 10;
pub const MESSAGE_BURST: u32 = 20;
/// Why a socket is refused when the server holds as many as it may.
pub const SERVER_FULL: &str = "the server holds as many live connections as it may (SWITCHBOARD_MAX_CONNECTIONS); try again shortly";
/// Why a socket that overspent its budget is closed.
pub const TOO_MANY_MESSAGES: &str = "too many messages";

/// Who a socket counts against.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SocketHolder {
    User(i64),
    /// A token naming no user: its subject within its tenant (`None`: every tenant).
    Token {
        subject: String,
        tenant: Option<String>,
    },
}

impl SocketHolder {
    pub fn of(identity: &Identity, holder: Option<Holder>) -> Self {
        match holder {
            Some(holder) => Self::User(holder.user()),
            None => Self::Token {
                subject: identity.subject.clone(),
                tenant: identity.tenant.clone(),
            },
        }
    }
}

/// Open sockets per holder, and in all.
#[derive(Debug)]
pub struct SocketQuota {
    open: Mutex<Open>,
    max_total: usize,
}

#[derive(Debug, Default)]
struct Open {
    by_holder: HashMap<SocketHolder, usize>,
    total: usize,
}

/// Why a socket has no place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuotaFull {
    /// Its holder holds [`MAX_SOCKETS_PER_IDENTITY`] already.
    Holder,
    /// The server holds as many as it may.
    Server,
}

/// One socket's place in its holder's quota, given back when dropped (when the socket ends).
#[derive(Debug)]
pub struct SocketSlot {
    quota: Arc<SocketQuota>,
    holder: SocketHolder,
}

impl SocketQuota {
    /// At most `max_total` sockets in all.
    pub fn new(max_total: usize) -> Self {
        Self {
            open: Mutex::default(),
            max_total,
        }
    }

    /// A place for one more socket of `holder`, unless it or the server is full.
    pub fn take(self: &Arc<Self>, holder: SocketHolder) -> Result<SocketSlot, QuotaFull> {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        if open.total >= self.max_total {
            return Err(QuotaFull::Server);
        }
        let count = open.by_holder.entry(holder.clone()).or_default();
        if *count >= MAX_SOCKETS_PER_IDENTITY {
            return Err(QuotaFull::Holder);
        }
        *count += 1;
        open.total += 1;
        Ok(SocketSlot {
            quota: Arc::clone(self),
            holder,
        })
    }

    /// Sockets `holder` holds open.
    pub fn open(&self, holder: &SocketHolder) -> usize {
        let open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        open.by_holder.get(holder).copied().unwrap_or(0)
    }
}

impl Drop for SocketSlot {
    fn drop(&mut self) {
        let mut open = self
            .quota
            .open
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let Open { by_holder, total } = &mut *open;
        if let Some(count) = by_holder.get_mut(&self.holder) {
            *count -= 1;
            *total -= 1;
            if *count == 0 {
                by_holder.remove(&self.holder);
            }
        }
    }
}

/// One socket's allowance of client messages: a few bytes, held as long as the socket.
#[derive(Debug)]
pub struct MessageBudget {
    messages: governor::DefaultDirectRateLimiter,
    /// Refusals the socket is told of: one a second.
    notices: governor::DefaultDirectRateLimiter,
}

impl Default for MessageBudget {
    fn default() -> Self {
        let rate = NonZeroU32::new(MESSAGES_PER_SECOND).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(MESSAGE_BURST).unwrap_or(NonZeroU32::MIN);
        Self {
            messages: governor::RateLimiter::direct(
                governor::Quota::per_second(rate).allow_burst(burst),
            ),
            notices: governor::RateLimiter::direct(governor::Quota::per_second(NonZeroU32::MIN)),
        }
    }
}

/// What became of a message spent from a [`MessageBudget`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spent {
    Allowed,
    /// Over budget; `tell`: the first refusal this second, which the socket is told of.
    Refused {
        tell: bool,
    },
}

impl MessageBudget {
    /// Spends one message.
    pub fn spend(&self) -> Spent {
        if self.messages.check().is_ok() {
            Spent::Allowed
        } else {
            Spent::Refused {
                tell: self.notices.check().is_ok(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use app::dto::auth::Role;

    use super::*;

    fn token(subject: &str, tenant: &str) -> Identity {
        Identity {
            subject: subject.to_owned(),
            role: Role::Member,
            tenant: Some(tenant.to_owned()),
            expires_at: 0,
        }
    }

    #[test]
    fn tokens_sharing_a_subject_hold_a_share_per_tenant() {
        let quota = Arc::new(SocketQuota::new(1_000));
        let acme = SocketHolder::of(&token("switchboard-cli", "acme"), None);
        let globex = SocketHolder::of(&token("switchboard-cli", "globex"), None);
        let held: Vec<_> = (0..MAX_SOCKETS_PER_IDENTITY)
            .map(|_| quota.take(acme.clone()).unwrap())
            .collect();
        assert_eq!(quota.take(acme.clone()).err(), Some(QuotaFull::Holder));
        assert!(quota.take(globex.clone()).is_ok());
        drop(held);
        assert_eq!(quota.open(&acme), 0);
    }

    #[test]
    fn all_holders_together_hold_at_most_the_servers_cap() {
        let quota = Arc::new(SocketQuota::new(3));
        let held: Vec<_> = ["a", "b", "c"]
            .iter()
            .map(|tenant| {
                let holder = SocketHolder::of(&token("cli", tenant), None);
                quota.take(holder).unwrap()
            })
            .collect();
        let fourth = SocketHolder::of(&token("cli", "d"), None);
        assert_eq!(quota.take(fourth.clone()).err(), Some(QuotaFull::Server));
        drop(held);
        assert!(quota.take(fourth).is_ok());
    }

    #[test]
    fn a_user_is_one_holder_whatever_its_tokens_say() {
        let session = Holder::SignIn(crate::domain::auth::UserSession {
            user: 7,
            version: 1,
        });
        let api_token = Holder::ApiToken {
            id: 3,
            user: 7,
            version: 1,
        };
        assert_eq!(
            SocketHolder::of(&token("a@acme.test", "acme"), Some(session)),
            SocketHolder::of(&token("renamed@acme.test", "acme"), Some(api_token))
        );
    }

    #[test]
    fn a_budget_allows_its_burst_then_refuses() {
        let budget = MessageBudget::default();
        let spent: Vec<_> = (0..MESSAGE_BURST * 2).map(|_| budget.spend()).collect();
        let allowed = spent.iter().filter(|s| **s == Spent::Allowed).count();
        assert!(allowed >= MESSAGE_BURST as usize && allowed < 2 * MESSAGE_BURST as usize);
        // Of the refusals, one is told (within this second).
        let told = spent
            .iter()
            .filter(|s| **s == Spent::Refused { tell: true })
            .count();
        assert_eq!(told, 1);
    }
}
