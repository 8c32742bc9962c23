//! `/login`: email and password, posted as a plain form so signing in needs no JavaScript. In
//! demo mode the page lists the demo accounts.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::dto::auth::LoginHints;

#[component]
pub fn Login() -> impl IntoView {
    let hints = SharedValue::new(|| use_context::<LoginHints>().unwrap_or_default()).into_inner();
    let query = use_query_map();
    let error = move || query.read().get("error");
    let action = move || match query.read().get("next") {
        Some(next) => format!(
            "/login?next={}",
            form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>()
        ),
        None => "/login".to_owned(),
    };
    let demo = (!hints.demo_users.is_empty()).then(|| {
        let password = hints.demo_password.clone().unwrap_or_default();
        view! {
            <section class="login__demo" aria-labelledby="demo-accounts">
                <h2 id="demo-accounts">"Demo accounts"</h2>
                <p>"Every demo account's password is " <code>{password}</code></p>
                <ul>
                    {hints
                        .demo_users
                        .into_iter()
                        .map(|(email, sees)| {
                            view! {
                                <li>
                                    <code>{email}</code>
                                    <span class="login__sees">{sees}</span>
                                </li>
                            }
                        })
                        .collect_view()}
                </ul>
            </section>
        }
    });

    view! {
        <Title text="Sign in · Switchboard" />
        <main class="login">
            <h1 class="login__title">
                <span aria-hidden="true">"☎ "</span>
                "Switchboard"
            </h1>
            <form class="login__form" method="post" action=action>
                <Show when=move || error().is_some()>
                    <p class="login__error" role="alert">
                        {move || match error().as_deref() {
                            Some("throttled") => "Too many attempts: wait a minute, then try again.",
                            _ => "Wrong email or password.",
                        }}
                    </p>
                </Show>
                <label for="email">"Email"</label>
                <input id="email" name="email" type="email" autocomplete="username" required />
                <label for="password">"Password"</label>
                <input
                    id="password"
                    name="password"
                    type="password"
                    autocomplete="current-password"
                    required
                />
                <button type="submit">"Sign in"</button>
            </form>
            {demo}
        </main>
    }
}
