//! The dashboard's data as the server functions reach it.
//!
//! `app` cannot depend on `server` (the server depends on `app`), yet the server functions here
//! must answer with exactly the figures, scoping and validation of the REST API. So `app`
//! declares what it needs, [`DashboardData`], and the server implements it once, over its
//! storage; the REST handlers call the same implementation. The page reaches it through the
//! server functions in [`crate::server_fns`], which find it in the request's context as a
//! [`DataSource`].
//!
//! Every method takes the caller's identity: scoping (a tenant reads only its own tenant) is
//! part of the implementation, never of a door.

use std::{future::Future, net::SocketAddr, pin::Pin, sync::Arc};

use axum::{
    extract::{ConnectInfo, FromRequestParts},
    http::request::Parts,
};

use crate::dto::{
    admin::{
        AdminActiveCallsResponse, AuditLogResponse, DlqActionResponse, DlqResponse,
        ReconciliationStatusResponse, ReconciliationTriggerResponse, SystemHealth, TenantsResponse,
    },
    auth::Identity,
    call_detail::CallDetailResponse,
    dashboard::{
        ActiveCallsResponse, AgentPerformanceResponse, CallsPerHourResponse, MetricsResponse,
        RecentCallsResponse,
    },
    error::DataError,
    query::{AuditQuery, CallsQuery, DlqQuery, PeriodQuery, RunsQuery, TenantQuery, UsersQuery},
    tokens::ApiTokensResponse,
    users::{InvitationsResponse, LinkInfo, UsersResponse},
};

/// What a data method returns: a boxed future, so the trait can be used as `dyn`.
pub type DataFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, DataError>> + Send + 'a>>;

/// The dashboard's reads, scoped to `caller`; the admin board's are refused to tenants.
/// Implemented by the server.
pub trait DashboardData: Send + Sync + 'static {
    /// Who sent a request (bearer token or session cookie): the server's one session check.
    fn identify<'a>(&'a self, headers: &'a axum::http::HeaderMap) -> DataFuture<'a, Identity>;

    fn metrics<'a>(
        &'a self,
        caller: &'a Identity,
        query: &'a PeriodQuery,
    ) -> DataFuture<'a, MetricsResponse>;

    fn active_calls<'a>(
        &'a self,
        caller: &'a Identity,
        query: &'a TenantQuery,
    ) -> DataFuture<'a, ActiveCallsResponse>;

    fn recent_calls<'a>(
        &'a self,
        caller: &'a Identity,
        query: &'a CallsQuery,
    ) -> DataFuture<'a, RecentCallsResponse>;

    /// One call with everything kept about it; another tenant's call is as missing as an
    /// unknown one (`NotFound`).
    fn call_detail<'a>(
        &'a self,
        caller: &'a Identity,
        id: &'a str,
    ) -> DataFuture<'a, CallDetailResponse>;

    fn agent_performance<'a>(
        &'a self,
        caller: &'a Identity,
        query: &'a PeriodQuery,
    ) -> DataFuture<'a, AgentPerformanceResponse>;

    fn calls_per_hour<'a>(
        &'a self,
        caller: &'a Identity,
        query: &'a PeriodQuery,
    ) -> DataFuture<'a, CallsPerHourResponse>;

    /// Admins only: database, live state, DLQ, stale calls, last reconciliation, and a verdict.
    fn system_health<'a>(&'a self, caller: &'a Identity) -> DataFuture<'a, SystemHealth>;

    /// Admins only: every tenant with its business name.
    fn tenants<'a>(&'a self, caller: &'a Identity) -> DataFuture<'a, TenantsResponse>;

    /// Admins only: live calls across tenants (or one) with business name and heartbeat health.
    fn live_calls<'a>(
        &'a self,
        caller: &'a Identity,
        query: &'a TenantQuery,
    ) -> DataFuture<'a, AdminActiveCallsResponse>;

    /// Admins only: the dead-letter queue's depth and its oldest messages.
    fn dlq<'a>(&'a self, caller: &'a Identity, query: &'a DlqQuery) -> DataFuture<'a, DlqResponse>;

    /// Admins only: retry dead letter `id` now (audited). `id` as the client sent it.
    fn dlq_retry<'a>(
        &'a self,
        caller: &'a Identity,
        client: &'a ClientAddr,
        id: &'a str,
    ) -> DataFuture<'a, DlqActionResponse>;

    /// Admins only: retry every dead letter now (audited).
    fn dlq_retry_all<'a>(
        &'a self,
        caller: &'a Identity,
        client: &'a ClientAddr,
    ) -> DataFuture<'a, DlqActionResponse>;

    /// Admins only: give up on dead letter `id` (audited, with what it was).
    fn dlq_discard<'a>(
        &'a self,
        caller: &'a Identity,
        client: &'a ClientAddr,
        id: &'a str,
    ) -> DataFuture<'a, DlqActionResponse>;

    /// Admins only: the reconciliation run going on, the last one, and the history.
    fn reconciliation<'a>(
        &'a self,
        caller: &'a Identity,
        query: &'a RunsQuery,
    ) -> DataFuture<'a, ReconciliationStatusResponse>;

    /// Admins only: start a reconciliation run now, or name the one going (audited).
    fn reconcile_now<'a>(
        &'a self,
        caller: &'a Identity,
        client: &'a ClientAddr,
    ) -> DataFuture<'a, ReconciliationTriggerResponse>;

    /// Admins only: the audit log, newest first.
    fn audit_log<'a>(
        &'a self,
        caller: &'a Identity,
        query: &'a AuditQuery,
    ) -> DataFuture<'a, AuditLogResponse>;

    /// The users the caller manages: every user (admins), its tenant's (owners).
    fn users<'a>(
        &'a self,
        caller: &'a Identity,
        query: &'a UsersQuery,
    ) -> DataFuture<'a, UsersResponse>;

    /// The API tokens of the user signed in with `headers` and of the users it manages. Given
    /// the request rather than an identity: only a sign-in manages tokens, never a token.
    fn api_tokens<'a>(
        &'a self,
        headers: &'a axum::http::HeaderMap,
    ) -> DataFuture<'a, ApiTokensResponse>;

    /// The open invitations the caller manages.
    fn invitations<'a>(&'a self, caller: &'a Identity) -> DataFuture<'a, InvitationsResponse>;

    /// What an invitation or reset link is, and whether it still works: for anyone holding it.
    fn link_page<'a>(&'a self, secret: &'a str) -> DataFuture<'a, LinkInfo>;
}

/// Where a request came from, for the audit log: the peer's address, and what
/// `X-Forwarded-For` claimed (kept apart: a client can write anything there).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientAddr {
    pub peer: Option<String>,
    pub forwarded_for: Option<String>,
}

impl ClientAddr {
    /// The addresses of the request `parts` describe.
    pub fn of(parts: &Parts) -> Self {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip().to_string());
        let forwarded_for = parts
            .headers
            .get("x-forwarded-for")
            .and_then(|value| value.to_str().ok())
            .map(|value| value.chars().take(200).collect());
        Self {
            peer,
            forwarded_for,
        }
    }
}

/// Never fails: a request without connection info (none in practice) has no peer address.
impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self::of(parts))
    }
}

/// The server's [`DashboardData`], as the page and server functions find it in their context.
#[derive(Clone)]
pub struct DataSource(Arc<dyn DashboardData>);

impl DataSource {
    pub fn new(data: impl DashboardData) -> Self {
        Self(Arc::new(data))
    }
}

impl std::ops::Deref for DataSource {
    type Target = dyn DashboardData;

    fn deref(&self) -> &Self::Target {
        self.0.as_ref()
    }
}
