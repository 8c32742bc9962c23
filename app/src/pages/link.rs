//! `/welcome/{secret}` and `/reset/{secret}`: the page an invitation or a reset link opens. While
//! the link works, a plain form sets the password and signs its user in; once used, expired or
//! unknown, the page says so (410 or 404) and what to do instead.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::{
    components::panel::{Failed, Loading},
    dto::users::{LinkInfo as Page, LinkKind, LinkStatus},
    http_status,
    pages::account::NewPasswordFields,
    server_fns,
};

fn problem(code: &str) -> &'static str {
    match code {
        "mismatch" => "The two passwords differ.",
        "short" => "The password needs at least 12 characters.",
        "weak" => {
            "That password is too easy to guess: try a few unrelated words, not a name, a date \
             or your email."
        }
        "busy" => "Too many people are signing in right now: try again in a moment.",
        _ => "This link no longer works.",
    }
}

#[component]
pub fn LinkPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let secret = move || params.read().get("secret").unwrap_or_default();
    let error = move || query.read().get("error");
    let page = Resource::new(secret, server_fns::link_page);
    view! {
        <Title text="Set your password · Switchboard" />
        <main class="login">
            <Suspense fallback=Loading>
                {move || {
                    page.get()
                        .map(|loaded| match loaded {
                            Err(error) => view! { <Failed error /> }.into_any(),
                            Ok(page) if page.status == LinkStatus::Open => {
                                view! { <Open page secret=secret() error=error() /> }.into_any()
                            }
                            Ok(page) => view! { <Closed status=page.status /> }.into_any(),
                        })
                }}
            </Suspense>
        </main>
    }
}

#[component]
fn Open(page: Page, secret: String, error: Option<String>) -> impl IntoView {
    let email = page.email.unwrap_or_default();
    let (title, intro) = match page.kind {
        Some(LinkKind::Reset) => (
            "Set a new password".to_owned(),
            format!("For {email}. Your other sessions have ended."),
        ),
        _ => {
            let role = page.role.map(|role| role.as_str()).unwrap_or("member");
            let sees = page.tenant.map_or_else(
                || "every tenant".to_owned(),
                |tenant| format!("tenant {tenant}"),
            );
            (
                "Welcome to Switchboard".to_owned(),
                format!(
                    "You were invited as {email}: {role} of {sees}. Choose a password to sign in."
                ),
            )
        }
    };
    view! {
        <h1 class="login__title">{title}</h1>
        <form class="login__form" method="post" action="/link">
            <p data-testid="link-intro">{intro}</p>
            {error
                .map(|code| {
                    view! {
                        <p class="login__error" role="alert" data-testid="link-problem">
                            {problem(&code)}
                        </p>
                    }
                })}
            <input type="hidden" name="secret" value=secret />
            <NewPasswordFields label="Password" again="Password, again" />
            <button type="submit">"Set password and sign in"</button>
        </form>
    }
}

#[component]
fn Closed(status: LinkStatus) -> impl IntoView {
    let message = match status {
        LinkStatus::Used => {
            http_status::set_gone();
            "This link was used already: each works once. Sign in with the password you chose, or ask whoever sent it for a new one."
        }
        LinkStatus::Expired => {
            http_status::set_gone();
            "This link has expired. Ask whoever sent it for a new one."
        }
        _ => {
            http_status::set_not_found();
            "This link is not valid: check it was copied whole, or ask for a new one."
        }
    };
    view! {
        <h1 class="login__title">"This link does not work"</h1>
        <p class="login__error" role="alert" data-testid="link-closed">
            {message}
        </p>
        <p>
            <a href="/login">"Sign in"</a>
        </p>
    }
}
