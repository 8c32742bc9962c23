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

use std::{future::Future, pin::Pin, sync::Arc};

use crate::dto::{
    admin::{SystemHealth, TenantsResponse},
    auth::Identity,
    dashboard::{
        ActiveCallsResponse, AgentPerformanceResponse, CallsPerHourResponse, MetricsResponse,
        RecentCallsResponse,
    },
    error::DataError,
    query::{CallsQuery, PeriodQuery, TenantQuery},
};

/// What a data method returns: a boxed future, so the trait can be used as `dyn`.
pub type DataFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, DataError>> + Send + 'a>>;

/// The dashboard's reads, scoped to `caller`; the admin board's are refused to tenants.
/// Implemented by the server.
pub trait DashboardData: Send + Sync + 'static {
    /// Who sent a request (bearer token or session cookie): the server's one session check.
    fn identify(&self, headers: &axum::http::HeaderMap) -> Result<Identity, DataError>;

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
