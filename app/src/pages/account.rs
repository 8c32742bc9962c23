//! `/account`: who you are signed in as, with which role, and your password changed — a plain
//! form, so it needs no JavaScript. The server checks the current password and the new one's
//! strength, ends your other sessions and hands this browser a fresh one.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::{
    dto::auth::MAX_PASSWORD_BYTES,
    session,
    zone::{self, ShownZone},
};

/// What went wrong, by the code the server's form handler sends back.
fn problem(code: &str) -> &'static str {
    match code {
        "wrong" => "That is not your current password.",
        "mismatch" => "The two new passwords differ.",
        "short" => "The new password needs at least 12 characters.",
        "same" => "The new password is your current one.",
        "weak" => {
            "The new password is too easy to guess: try a few unrelated words, not a name, a date \
             or your email."
        }
        "throttled" => "Too many attempts: wait a minute, then try again.",
        "token" => "This session names no user, so it has no password to change.",
        _ => "The password was not changed: fill in every field.",
    }
}

#[component]
pub fn Account() -> impl IntoView {
    let identity = session::current_identity();
    let query = use_query_map();
    let error = move || query.read().get("error");
    let changed = move || query.read().get("changed").is_some();
    let tokens = identity
        .clone()
        .map(|identity| view! { <super::tokens::ApiTokens identity /> });
    let who = identity.map(|identity| {
        let tenant = identity.tenant.map_or_else(
            || "every tenant".to_owned(),
            |tenant| format!("tenant {tenant}"),
        );
        view! {
            <p data-testid="account-who">
                <strong>{identity.subject}</strong>
                {format!(" · {} ({}) · {tenant}", identity.role.as_str(), identity.role.describe())}
            </p>
        }
    });
    let max = MAX_PASSWORD_BYTES.to_string();
    view! {
        <Title text="Your account · Switchboard" />
        <main class="login account">
            <h1 class="login__title">"Your account"</h1>
            {who}
            <form class="login__form" method="post" action="/account/password">
                <h2>"Change your password"</h2>
                <Show when=changed>
                    <p class="account__done" role="status" data-testid="password-changed">
                        "Password changed. Your other sessions have ended."
                    </p>
                </Show>
                <Show when=move || error().is_some()>
                    <p class="login__error" role="alert" data-testid="password-problem">
                        {move || problem(error().as_deref().unwrap_or_default())}
                    </p>
                </Show>
                <label for="current_password">"Current password"</label>
                <input
                    id="current_password"
                    name="current_password"
                    type="password"
                    autocomplete="current-password"
                    maxlength=max
                    required
                />
                <NewPasswordFields label="New password" again="New password, again" />
                <button type="submit">"Change password"</button>
            </form>
            {tokens}
            <ZoneChoice />
            <p>
                <a href="/dashboard/realtime">"Back to the dashboard"</a>
            </p>
        </main>
    }
}

/// A new password and its confirmation, with the rule they must meet; the server checks them
/// (`new_password`, `confirm_password`). Shared by the password change and the link pages.
#[component]
pub fn NewPasswordFields(label: &'static str, again: &'static str) -> impl IntoView {
    let max = MAX_PASSWORD_BYTES.to_string();
    view! {
        <label for="new_password">{label}</label>
        <input
            id="new_password"
            name="new_password"
            type="password"
            autocomplete="new-password"
            minlength="12"
            maxlength=max.clone()
            aria-describedby="new-password-rule"
            required
        />
        <p id="new-password-rule" class="account__rule">
            "At least 12 characters. A few unrelated words are easy to remember and hard to guess."
        </p>
        <label for="confirm_password">{again}</label>
        <input
            id="confirm_password"
            name="confirm_password"
            type="password"
            autocomplete="new-password"
            minlength="12"
            maxlength=max
            required
        />
    }
}

/// Which zone the pages show their times in, and a choice of another (or the browser's own) —
/// also how a visitor without JavaScript gets out of UTC.
#[component]
fn ZoneChoice() -> impl IntoView {
    let query = use_query_map();
    let outcome = query.read_untracked().get("zone");
    let (shown, pinned) = use_context::<ShownZone>()
        .map(|shown| (shown.zone.get_untracked(), shown.pinned))
        .unwrap_or_default();
    let source = if pinned {
        "chosen here"
    } else if shown.tz_param().is_some() {
        "your browser's"
    } else {
        "until your browser tells us its zone, which it does when JavaScript runs"
    };
    let notice = outcome.map(|outcome| {
        let text = match outcome.as_str() {
            "saved" => "Saved: times are now shown in this zone.",
            "browser" => "Times will follow your browser's zone.",
            _ => "That is not a time zone: pick one from the list.",
        };
        view! { <p class="account__done" role="status" data-testid="zone-saved">{text}</p> }
    });
    let options = zone::all_names()
        .into_iter()
        .map(|name| {
            let selected = pinned && name == shown.name();
            let label = name.clone();
            view! { <option value=name selected=selected>{label}</option> }
        })
        .collect_view();
    view! {
        <form class="login__form" method="post" action="/account/zone" id="zone">
            <h2>"Time zone"</h2>
            {notice}
            <p data-testid="zone-shown">
                "Times are shown in "
                <strong>{shown.name().to_owned()}</strong>
                {format!(" ({source}).")}
            </p>
            <label for="tz">"Show times in"</label>
            <select id="tz" name="tz" data-testid="zone-select">
                <option value="" selected=!pinned>
                    "Your browser's zone"
                </option>
                {options}
            </select>
            <button type="submit">"Save time zone"</button>
        </form>
    }
}
