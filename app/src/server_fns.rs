//! The dashboard's server functions, under a prefix of their own ([`PREFIX`]), apart from the
//! REST API. Each is a second door to the same code as its REST twin: it finds the server's
//! [`DashboardData`](crate::data::DashboardData) in its context, checks the caller's session with
//! the server's own check, and answers with the same DTO — or with the API's JSON error body and
//! status.
//!
//! Reads are `GET`s: safe to repeat, and the browser never sends a body for them. Their query
//! string is the REST twin's (`/rpc/metrics?hours=6` as `/api/dashboard/metrics?hours=6`).
//! The ops board's actions are `POST`s of a form-encoded body (`id=12`), refused to tenants by
//! the same check as the admin API, and recorded in the audit log with the caller's address.

use leptos::{
    prelude::*,
    server_fn::codec::{GetUrl, Post},
};

pub use answer_encoding::JsonTextEncoding;

use crate::dto::{
    admin::{
        AdminActiveCallsResponse, AuditLogResponse, DlqActionResponse, DlqResponse,
        ReconciliationStatusResponse, ReconciliationTriggerResponse, SystemHealth, TenantsResponse,
    },
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

/// Where the server functions live: `/rpc/<name>`.
pub const PREFIX: &str = "/rpc";

/// The answers' encoding (the method part is unused for answers).
pub type JsonText = Post<JsonTextEncoding>;

mod answer_encoding {
    use leptos::server_fn::{Bytes, ContentType, Decodes, Encodes, Format, FormatType};
    use serde::{Serialize, de::DeserializeOwned};

    /// JSON, like server_fn's own `JsonEncoding`, but read as text (`serde_json::from_str`):
    /// the Resources that hydrate the same DTOs read them that way, so the browser bundle holds
    /// one deserialiser per DTO instead of two (`from_slice` is another instance of each).
    pub struct JsonTextEncoding;

    impl ContentType for JsonTextEncoding {
        const CONTENT_TYPE: &'static str = "application/json";
    }

    impl FormatType for JsonTextEncoding {
        const FORMAT_TYPE: Format = Format::Text;
    }

    impl<T: Serialize> Encodes<T> for JsonTextEncoding {
        type Error = serde_json::Error;

        fn encode(output: &T) -> Result<Bytes, Self::Error> {
            serde_json::to_vec(output).map(Bytes::from)
        }
    }

    impl<T: DeserializeOwned> Decodes<T> for JsonTextEncoding {
        type Error = serde_json::Error;

        fn decode(bytes: Bytes) -> Result<T, Self::Error> {
            let text = std::str::from_utf8(&bytes).map_err(serde::de::Error::custom)?;
            serde_json::from_str(text)
        }
    }
}

/// The metric cards over a period (`GET /api/dashboard/metrics`).
#[server(prefix = "/rpc", endpoint = "metrics", input = GetUrl, output = JsonText)]
pub async fn metrics(#[server(flatten)] query: PeriodQuery) -> Result<MetricsResponse, DataError> {
    let (data, caller) = door::open().await?;
    door::answer(data.metrics(&caller, &query).await)
}

/// Calls in progress (`GET /api/dashboard/active-calls`).
#[server(prefix = "/rpc", endpoint = "active_calls", input = GetUrl, output = JsonText)]
pub async fn active_calls(
    #[server(flatten)] query: TenantQuery,
) -> Result<ActiveCallsResponse, DataError> {
    let (data, caller) = door::open().await?;
    door::answer(data.active_calls(&caller, &query).await)
}

/// A page of calls, filtered (`GET /api/dashboard/recent-calls`).
#[server(prefix = "/rpc", endpoint = "recent_calls", input = GetUrl, output = JsonText)]
pub async fn recent_calls(
    #[server(flatten)] query: CallsQuery,
) -> Result<RecentCallsResponse, DataError> {
    let (data, caller) = door::open().await?;
    door::answer(data.recent_calls(&caller, &query).await)
}

/// One call and everything kept about it (`GET /api/dashboard/calls/{id}`).
#[server(prefix = "/rpc", endpoint = "call_detail", input = GetUrl, output = JsonText)]
pub async fn call_detail(id: String) -> Result<CallDetailResponse, DataError> {
    let (data, caller) = door::open().await?;
    door::answer(data.call_detail(&caller, &id).await)
}

/// Per-agent figures (`GET /api/dashboard/agent-performance`).
#[server(prefix = "/rpc", endpoint = "agent_performance", input = GetUrl, output = JsonText)]
pub async fn agent_performance(
    #[server(flatten)] query: PeriodQuery,
) -> Result<AgentPerformanceResponse, DataError> {
    let (data, caller) = door::open().await?;
    door::answer(data.agent_performance(&caller, &query).await)
}

/// Calls per hour, zero-filled (`GET /api/dashboard/calls-per-hour`).
#[server(prefix = "/rpc", endpoint = "calls_per_hour", input = GetUrl, output = JsonText)]
pub async fn calls_per_hour(
    #[server(flatten)] query: PeriodQuery,
) -> Result<CallsPerHourResponse, DataError> {
    let (data, caller) = door::open().await?;
    door::answer(data.calls_per_hour(&caller, &query).await)
}

/// Admins only: the system's health (`GET /api/admin/health`).
#[server(prefix = "/rpc", endpoint = "health", input = GetUrl, output = JsonText)]
pub async fn health() -> Result<SystemHealth, DataError> {
    let (data, caller) = door::open().await?;
    door::answer(data.system_health(&caller).await)
}

/// Admins only: every tenant, with business names (`GET /api/admin/tenants`).
#[server(prefix = "/rpc", endpoint = "tenants", input = GetUrl, output = JsonText)]
pub async fn tenants() -> Result<TenantsResponse, DataError> {
    let (data, caller) = door::open().await?;
    door::answer(data.tenants(&caller).await)
}

/// Admins only: live calls across tenants with heartbeat health (`GET /api/admin/active-calls`).
#[server(prefix = "/rpc", endpoint = "live_calls", input = GetUrl, output = JsonText)]
pub async fn live_calls(
    #[server(flatten)] query: TenantQuery,
) -> Result<AdminActiveCallsResponse, DataError> {
    let (data, caller) = door::open().await?;
    door::answer(data.live_calls(&caller, &query).await)
}

/// Admins only: the dead-letter queue (`GET /api/admin/dlq`).
#[server(prefix = "/rpc", endpoint = "dlq", input = GetUrl, output = JsonText)]
pub async fn dlq(#[server(flatten)] query: DlqQuery) -> Result<DlqResponse, DataError> {
    let (data, caller) = door::open().await?;
    door::answer(data.dlq(&caller, &query).await)
}

/// Admins only: retry one dead letter now (`POST /api/admin/dlq/{id}/retry`).
#[server(prefix = "/rpc", endpoint = "dlq_retry", output = JsonText)]
pub async fn dlq_retry(id: String) -> Result<DlqActionResponse, DataError> {
    let (data, caller) = door::open().await?;
    let client = door::client();
    door::answer(data.dlq_retry(&caller, &client, &id).await)
}

/// Admins only: retry every dead letter now (`POST /api/admin/dlq/retry`).
#[server(prefix = "/rpc", endpoint = "dlq_retry_all", output = JsonText)]
pub async fn dlq_retry_all() -> Result<DlqActionResponse, DataError> {
    let (data, caller) = door::open().await?;
    let client = door::client();
    door::answer(data.dlq_retry_all(&caller, &client).await)
}

/// Admins only: give up on one dead letter (`DELETE /api/admin/dlq/{id}`).
#[server(prefix = "/rpc", endpoint = "dlq_discard", output = JsonText)]
pub async fn dlq_discard(id: String) -> Result<DlqActionResponse, DataError> {
    let (data, caller) = door::open().await?;
    let client = door::client();
    door::answer(data.dlq_discard(&caller, &client, &id).await)
}

/// Admins only: reconciliation runs (`GET /api/admin/reconciliation`).
#[server(prefix = "/rpc", endpoint = "reconciliation", input = GetUrl, output = JsonText)]
pub async fn reconciliation(
    #[server(flatten)] query: RunsQuery,
) -> Result<ReconciliationStatusResponse, DataError> {
    let (data, caller) = door::open().await?;
    door::answer(data.reconciliation(&caller, &query).await)
}

/// Admins only: start a reconciliation run now (`POST /api/admin/reconciliation/trigger`).
#[server(prefix = "/rpc", endpoint = "reconcile_now", output = JsonText)]
pub async fn reconcile_now() -> Result<ReconciliationTriggerResponse, DataError> {
    let (data, caller) = door::open().await?;
    let client = door::client();
    door::answer(data.reconcile_now(&caller, &client).await)
}

/// Admins only: the audit log, newest first (`GET /api/admin/audit`).
#[server(prefix = "/rpc", endpoint = "audit_log", input = GetUrl, output = JsonText)]
pub async fn audit_log(
    #[server(flatten)] query: AuditQuery,
) -> Result<AuditLogResponse, DataError> {
    let (data, caller) = door::open().await?;
    door::answer(data.audit_log(&caller, &query).await)
}

/// The users the caller manages (`GET /api/users`).
#[server(prefix = "/rpc", endpoint = "users", input = GetUrl, output = JsonText)]
pub async fn users(#[server(flatten)] query: UsersQuery) -> Result<UsersResponse, DataError> {
    let (data, caller) = door::open().await?;
    door::answer(data.users(&caller, &query).await)
}

/// The caller's API tokens and those of the users it manages (`GET /api/tokens`).
#[server(prefix = "/rpc", endpoint = "api_tokens", input = GetUrl, output = JsonText)]
pub async fn api_tokens() -> Result<ApiTokensResponse, DataError> {
    let (data, parts) = door::request()?;
    door::answer(data.api_tokens(&parts.headers).await)
}

/// The open invitations the caller manages (`GET /api/users/invitations`).
#[server(prefix = "/rpc", endpoint = "invitations", input = GetUrl, output = JsonText)]
pub async fn invitations() -> Result<InvitationsResponse, DataError> {
    let (data, caller) = door::open().await?;
    door::answer(data.invitations(&caller).await)
}

/// What the invitation or reset link with `secret` is, and whether it still works.
#[server(prefix = "/rpc", endpoint = "link_page", input = GetUrl, output = JsonText)]
pub async fn link_page(secret: String) -> Result<LinkInfo, DataError> {
    let (data, _) = door::request()?;
    door::answer(data.link_page(&secret).await)
}

/// What every server function does around its one call.
#[cfg(feature = "ssr")]
mod door {
    use leptos::prelude::use_context;
    use leptos_axum::ResponseOptions;

    use crate::{
        data::{ClientAddr, DataSource},
        dto::{auth::Identity, error::DataError},
    };

    /// The data layer and the caller, whose session the server checks; refused otherwise.
    pub(super) async fn open() -> Result<(DataSource, Identity), DataError> {
        let (data, parts) = request()?;
        let caller = data.identify(&parts.headers).await.map_err(refuse)?;
        Ok((data, caller))
    }

    /// The data layer and the request, for a call that checks the caller itself.
    pub(super) fn request() -> Result<(DataSource, axum::http::request::Parts), DataError> {
        let data = use_context::<DataSource>()
            .ok_or_else(|| refuse(DataError::Internal("no DataSource in context".into())))?;
        let parts = use_context::<axum::http::request::Parts>()
            .ok_or_else(|| refuse(DataError::Internal("no request in context".into())))?;
        Ok((data, parts))
    }

    /// Where the request came from, for the audit log.
    pub(super) fn client() -> ClientAddr {
        use_context::<axum::http::request::Parts>()
            .map(|parts| ClientAddr::of(&parts))
            .unwrap_or_default()
    }

    /// The answer, with the error's HTTP status set on the response.
    pub(super) fn answer<T>(result: Result<T, DataError>) -> Result<T, DataError> {
        result.map_err(refuse)
    }

    fn refuse(error: DataError) -> DataError {
        if let Some(response) = use_context::<ResponseOptions>() {
            let status = axum::http::StatusCode::from_u16(error.status())
                .unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR);
            response.set_status(status);
        }
        error
    }
}
