//! The account page's API tokens: the token just made (shown this once), a form to make one,
//! and the list — the caller's, and those of the users it manages — each with a revoke form
//! confirmed by a "Sure" box. Plain forms, rendered by the server only.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::{
    clock::{self, Clock},
    components::panel::{Empty, Failed, Loading},
    dto::{
        auth::{Identity, Role},
        tokens::{ApiTokenSummary, MAX_TOKEN_NAME_CHARS, TokenScope},
    },
    server_fns,
    session::{self, ShownOnce},
};

fn problem(code: &str) -> &'static str {
    match code {
        "confirm" => "Nothing changed: tick “Sure” to confirm.",
        "forbidden" => {
            "No token made: your role may not give a token that scope, or that tenant; a token \
             cannot make tokens either (sign in)."
        }
        "conflict" => "No token made: you hold 50 unexpired tokens. Revoke one first.",
        "not_found" => "Nothing changed: no such token among yours.",
        "invalid_parameter" => {
            "No token made: give it a name (up to 80 characters), a scope, a lifetime, and — for \
             a tenant's read token of a platform user — a known tenant."
        }
        _ => "Nothing changed: try again.",
    }
}

/// The days a new token may last, offered in the form.
const LIFETIMES: [(u32, &str); 4] = [
    (7, "7 days"),
    (30, "30 days"),
    (90, "90 days"),
    (366, "a year"),
];

#[component]
pub fn ApiTokens(identity: Identity) -> impl IntoView {
    let query = use_query_map();
    let error = move || query.read().get("token_error");
    let revoked = move || query.read().get("token_revoked").is_some();
    let secret = session::shown_once();
    let tokens = Resource::new(|| (), |_| server_fns::api_tokens());
    let clock = Clock::start();
    let role = identity.role;
    let me = identity.subject.clone();
    let scopes: Vec<TokenScope> = TokenScope::ALL
        .into_iter()
        .filter(|scope| scope.narrowed_to(role) == *scope)
        .collect();
    view! {
        <section class="panel account__tokens" aria-labelledby="tokens-title">
            <h2 id="tokens-title">"API tokens"</h2>
            <p class="account__rule">
                "For scripts and your backend: send one as "
                <code>"Authorization: Bearer …"</code>
                " or as a Socket.IO handshake's "
                <code>"auth.token"</code>
                ". A token does no more than its scope, and never more than your role."
            </p>
            {secret
                .map(|ShownOnce(secret)| {
                    view! {
                        <div class="account__secret" role="status" data-testid="token-secret">
                            <p>
                                <strong>"Your new token. Copy it now: it is shown only once."</strong>
                            </p>
                            <code>{secret}</code>
                        </div>
                    }
                })}
            <Show when=revoked>
                <p class="account__done" role="status" data-testid="token-revoked">
                    "Revoked: it is refused from now on, and its live connections have closed."
                </p>
            </Show>
            <Show when=move || error().is_some()>
                <p class="login__error" role="alert" data-testid="token-problem">
                    {move || problem(error().as_deref().unwrap_or_default())}
                </p>
            </Show>
            <form class="users__form" method="post" action="/account/tokens">
                <label class="field">
                    <span class="field__label">"Name"</span>
                    <input
                        name="name"
                        required
                        maxlength=MAX_TOKEN_NAME_CHARS.to_string()
                        placeholder="nightly export"
                    />
                </label>
                <label class="field">
                    <span class="field__label">"Scope"</span>
                    <select name="scope">
                        {scopes
                            .into_iter()
                            .map(|scope| {
                                view! {
                                    <option value=scope.as_str()>
                                        {format!("{} — {}", scope.as_str(), scope.describe())}
                                    </option>
                                }
                            })
                            .collect_view()}
                    </select>
                </label>
                {role
                    .is_platform()
                    .then(|| {
                        view! {
                            <label class="field">
                                <span class="field__label">"Tenant (tenant_read)"</span>
                                <input name="tenant" maxlength="36" />
                            </label>
                        }
                    })}
                <label class="field">
                    <span class="field__label">"Expires after"</span>
                    <select name="expires_in_days">
                        {LIFETIMES
                            .into_iter()
                            .map(|(days, words)| {
                                view! {
                                    <option value=days.to_string() selected=days == 30>
                                        {words}
                                    </option>
                                }
                            })
                            .collect_view()}
                    </select>
                </label>
                <button type="submit" class="button">"Make token"</button>
            </form>
            <Transition fallback=Loading>
                {move || {
                    let me = me.clone();
                    tokens
                        .get()
                        .map(|loaded| match loaded {
                            Err(error) => view! { <Failed error /> }.into_any(),
                            Ok(loaded) if loaded.tokens.is_empty() => {
                                view! { <Empty message="No API tokens." /> }.into_any()
                            }
                            Ok(loaded) => {
                                view! {
                                    <ul class="users__list" data-testid="tokens">
                                        {loaded
                                            .tokens
                                            .into_iter()
                                            .map(|token| {
                                                view! { <TokenItem token me=me.clone() role clock /> }
                                            })
                                            .collect_view()}
                                    </ul>
                                }
                                    .into_any()
                            }
                        })
                }}
            </Transition>
        </section>
    }
}

#[component]
fn TokenItem(token: ApiTokenSummary, me: String, role: Role, clock: Clock) -> impl IntoView {
    let reads = token.tenant.clone().map_or_else(
        || "every tenant".to_owned(),
        |tenant| format!("tenant {tenant}"),
    );
    // The scope it acts with now, when its owner's role narrowed it (only its own is known here).
    let owner = (token.owner != me).then(|| format!(" · {}", token.owner));
    let narrowed = (token.owner == me && token.scope.narrowed_to(role) != token.scope)
        .then(|| format!(" (acts as {} now)", token.scope.narrowed_to(role).as_str()));
    let used = token.last_used_at.map_or_else(
        || "never used".to_owned(),
        |at| format!("used {}", clock::ago(clock.seconds_since(at))),
    );
    let dates = format!(
        "made {} · expires {} · {used}",
        token.created_at.date(),
        token.expires_at.date()
    );
    view! {
        <li class="users__item" data-token=token.name.clone()>
            <div class="users__who">
                <strong>{token.name.clone()}</strong>
                <span class="users__role" data-testid="token-scope">
                    {format!("{} · {reads}", token.scope.as_str())}
                    {narrowed}
                    {owner}
                </span>
                <span class="users__seen" data-testid="token-dates">
                    {dates}
                </span>
            </div>
            <form class="users__form" method="post" action="/account/tokens/revoke">
                <input type="hidden" name="id" value=token.id.to_string() />
                <label class="users__sure">
                    <input type="checkbox" name="confirm" value="1" required />
                    " Sure"
                </label>
                <button type="submit" class="button button--danger">"Revoke"</button>
            </form>
        </li>
    }
}
