//! The audit log panel: the newest operator actions.

use leptos::prelude::*;

use crate::{
    clock::{self, Clock},
    components::panel::{Empty, Failed, Loading},
    dto::{
        admin::{AuditEntry, AuditLogResponse},
        error::DataError,
        query::AuditQuery,
    },
    server_fns,
};

/// Audit entries shown (the newest).
const AUDIT_SHOWN: usize = 50;

/// The newest entries, as loaded; created by the panels with their other resources, in the
/// same order on the server and in the browser.
pub fn load() -> Resource<Result<AuditLogResponse, DataError>> {
    Resource::new(
        || AuditQuery {
            limit: Some(AUDIT_SHOWN as u32),
            cursor: None,
        },
        server_fns::audit_log,
    )
}

/// The audit log, newest first: what was loaded, with what the live link added since on top.
#[component]
pub fn AuditPanel(
    audit: Resource<Result<AuditLogResponse, DataError>>,
    audit_live: RwSignal<Vec<AuditEntry>>,
    clock: Clock,
) -> impl IntoView {
    view! {
        <Transition fallback=Loading>
            {move || {
                audit
                    .get()
                    .map(|loaded| match loaded {
                        Err(error) => view! { <Failed error /> }.into_any(),
                        Ok(loaded) => {
                            let newest = loaded.entries.first().map_or(0, |entry| entry.id);
                            let mut entries: Vec<AuditEntry> = audit_live
                                .get()
                                .into_iter()
                                .filter(|entry| entry.id > newest)
                                .chain(loaded.entries)
                                .collect();
                            entries.truncate(AUDIT_SHOWN);
                            if entries.is_empty() {
                                return view! { <Empty message="Nothing recorded yet." /> }.into_any();
                            }
                            view! { <AuditTable entries clock /> }.into_any()
                        }
                    })
            }}
        </Transition>
    }
}

#[component]
pub fn AuditTable(entries: Vec<AuditEntry>, clock: Clock) -> impl IntoView {
    view! {
        <div class="table-scroll">
            <table class="rows" data-testid="audit">
                <thead>
                    <tr>
                        <th scope="col">"When"</th>
                        <th scope="col">"Who"</th>
                        <th scope="col">"Did"</th>
                        <th scope="col">"To"</th>
                        <th scope="col">"Result"</th>
                        <th scope="col">"From"</th>
                    </tr>
                </thead>
                <tbody>
                    {entries
                        .into_iter()
                        .map(|entry| {
                            let at = entry.at;
                            view! {
                                <tr data-audit-id=entry.id data-action=entry.action.clone()>
                                    <td data-label="When">
                                        <time datetime=clock::machine(at)>{move || clock.time_of(at)}</time>
                                    </td>
                                    <td data-label="Who">{format!("{} ({})", entry.actor, entry.role)}</td>
                                    <td data-label="Did">{entry.action.clone()}</td>
                                    <td data-label="To" class="mono">{entry.target.clone().unwrap_or_else(|| "—".into())}</td>
                                    <td data-label="Result">{entry.result.clone()}</td>
                                    <td data-label="From">{entry.client_addr.clone().unwrap_or_else(|| "—".into())}</td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </div>
    }
}
