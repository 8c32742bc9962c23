//! `/users`: the users an admin (every user) or an owner (its tenant's) manages — their role and
//! tenant, and per user a role change, "sign out everywhere" and removal. Plain forms, each
//! confirmed by a "Sure" box the browser requires ticked, so every action works without
//! JavaScript and none happens by a stray tap. The server decides who may do what to whom.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::{
    clock::{self, Clock},
    components::panel::{Empty, Failed, Loading},
    dto::{
        auth::{Permission, Role},
        query::UsersQuery,
        users::UserSummary,
    },
    server_fns,
    session::{self, ShownOnce},
};

fn outcome(done: &str) -> &'static str {
    match done {
        "role" => {
            "Role changed. The user's sessions have ended: it signs in again as its new role."
        }
        "sign_out" => "Signed out everywhere: every session and live connection of the user ended.",
        "remove" => "Removed. Its sessions ended with it.",
        "invited" => "Invitation made. Send this link; it works once, for 72 hours:",
        "cancel_invite" => "Invitation cancelled: its link no longer works.",
        "reset" => {
            "Its sessions have ended. Send this link to set a new password; it works once, for \
             2 hours:"
        }
        _ => "Done.",
    }
}

fn problem(code: &str) -> &'static str {
    match code {
        "confirm" => "Nothing changed: tick “Sure” to confirm.",
        "forbidden" => "Nothing changed: your role may not do that.",
        "not_found" => "Nothing changed: no such user among yours.",
        "conflict" => {
            "Nothing changed: that is the last admin, a user with that email exists already, or \
             you have too many open links."
        }
        "invalid_parameter" => {
            "Nothing changed: an owner or member needs a known tenant; the platform's roles none."
        }
        _ => "Nothing changed: try again.",
    }
}

#[component]
pub fn Users() -> impl IntoView {
    let identity = session::current_identity();
    let role = identity.as_ref().map(|identity| identity.role);
    let manages_all = role.is_some_and(|role| role.allows(Permission::ManageUsers));
    let query = use_query_map();
    let done = move || query.read().get("done");
    let error = move || query.read().get("error");
    let after = move || query.read().get("after");
    let users = Resource::new(after, |after| {
        server_fns::users(UsersQuery { limit: None, after })
    });
    let clock = Clock::start();
    // The roles this manager may give: every role (admins), or a tenant's two (owners).
    let roles: Vec<Role> = if manages_all {
        Role::ALL.to_vec()
    } else {
        vec![Role::Owner, Role::Member]
    };
    view! {
        <Title text="Users · Switchboard" />
        <main class="users">
            <p>
                <a href="/dashboard/realtime">"← Dashboard"</a>
            </p>
            <h1 class="users__title">"Users"</h1>
            <Show when=move || done().is_some()>
                <p class="account__done" role="status" data-testid="users-done">
                    {move || outcome(done().as_deref().unwrap_or_default())}
                </p>
            </Show>
            {session::shown_once()
                .map(|ShownOnce(link)| {
                    let to = query.read_untracked().get("email").unwrap_or_default();
                    let emailed = query.read_untracked().get("emailed").is_some();
                    view! {
                        <div class="account__secret" data-testid="new-link">
                            <p>
                                <strong>{format!("For {to}. Copy it now: it is shown only once.")}</strong>
                            </p>
                            <code>{link}</code>
                            {emailed
                                .then(|| {
                                    view! {
                                        <p data-testid="link-emailed">"It was also emailed to them."</p>
                                    }
                                })}
                        </div>
                    }
                })}
            <Show when=move || error().is_some()>
                <p class="login__error" role="alert" data-testid="users-problem">
                    {move || problem(error().as_deref().unwrap_or_default())}
                </p>
            </Show>
            <Invite roles=roles.clone() manages_all />
            <Pending />
            <Transition fallback=Loading>
                {move || {
                    let roles = roles.clone();
                    users
                        .get()
                        .map(|loaded| match loaded {
                            Err(error) => view! { <Failed error /> }.into_any(),
                            Ok(loaded) if loaded.users.is_empty() => {
                                view! { <Empty message="No users yet." /> }.into_any()
                            }
                            Ok(loaded) => {
                                let next = loaded.next_after.map(|after| {
                                    let after: String = form_urlencoded::byte_serialize(after.as_bytes()).collect();
                                    view! {
                                        <a class="button" href=format!("?after={after}")>
                                            "Next page →"
                                        </a>
                                    }
                                });
                                view! {
                                    {next}
                                    <ul class="users__list" data-testid="users">
                                        {loaded
                                            .users
                                            .into_iter()
                                            .map(|user| {
                                                view! { <UserItem user roles=roles.clone() manages_all clock /> }
                                            })
                                            .collect_view()}
                                    </ul>
                                }
                                    .into_any()
                            }
                        })
                }}
            </Transition>
        </main>
    }
}

/// The invitations not accepted yet, each with a "Cancel" confirmed by its "Sure" box.
#[component]
fn Pending() -> impl IntoView {
    let pending = Resource::new(|| (), |_| server_fns::invitations());
    let clock = Clock::start();
    view! {
        <Transition fallback=Loading>
            {move || {
                pending
                    .get()
                    .and_then(Result::ok)
                    .filter(|loaded| !loaded.invitations.is_empty())
                    .map(|loaded| {
                        view! {
                            <section class="panel" aria-labelledby="pending-title">
                                <h2 id="pending-title">"Invited, not joined yet"</h2>
                                <ul class="users__list" data-testid="pending">
                                    {loaded
                                        .invitations
                                        .into_iter()
                                        .map(|invitation| {
                                            let email = invitation.email.clone();
                                            let shown = email.clone();
                                            let field = email.clone();
                                            let sees = invitation
                                                .tenant
                                                .unwrap_or_else(|| "every tenant".to_owned());
                                            view! {
                                                <li class="users__item" data-invited=email>
                                                    <div class="users__who">
                                                        <strong>{shown}</strong>
                                                        <span class="users__role">
                                                            {format!(
                                                                "{} · {sees} · by {} · until {} ({})",
                                                                invitation.role.as_str(),
                                                                invitation.invited_by,
                                                                clock.moment(invitation.expires_at),
                                                                clock.zone(),
                                                            )}
                                                        </span>
                                                    </div>
                                                    <form class="users__form" method="post" action="/users/manage">
                                                        <input type="hidden" name="email" value=field />
                                                        <input type="hidden" name="action" value="cancel_invite" />
                                                        <Sure />
                                                        <button type="submit" class="button button--danger">
                                                            "Cancel invitation"
                                                        </button>
                                                    </form>
                                                </li>
                                            }
                                        })
                                        .collect_view()}
                                </ul>
                            </section>
                        }
                    })
            }}
        </Transition>
    }
}

/// Invite someone: an email and a role (and, for admins, the tenant of an owner or member);
/// the link to send comes back on this page, once.
#[component]
fn Invite(roles: Vec<Role>, manages_all: bool) -> impl IntoView {
    view! {
        <details class="users__manage panel" data-testid="invite">
            <summary>"Invite someone"</summary>
            <form class="users__form" method="post" action="/users/invite">
                <label class="field">
                    <span class="field__label">"Email"</span>
                    <input name="email" type="email" required maxlength="254" />
                </label>
                <label class="field">
                    <span class="field__label">"Role"</span>
                    <select name="role">
                        {roles
                            .into_iter()
                            .map(|role| {
                                view! {
                                    <option value=role.as_str() selected=role == Role::Member>
                                        {format!("{} — {}", role.as_str(), role.describe())}
                                    </option>
                                }
                            })
                            .collect_view()}
                    </select>
                </label>
                {manages_all
                    .then(|| {
                        view! {
                            <label class="field">
                                <span class="field__label">"Tenant (owner, member)"</span>
                                <input name="tenant" maxlength="36" />
                            </label>
                        }
                    })}
                <button type="submit" class="button">"Make invitation link"</button>
            </form>
        </details>
    }
}

/// The "Sure" box every action's form requires.
#[component]
fn Sure() -> impl IntoView {
    view! {
        <label class="users__sure">
            <input type="checkbox" name="confirm" value="1" required />
            " Sure"
        </label>
    }
}

#[component]
fn UserItem(user: UserSummary, roles: Vec<Role>, manages_all: bool, clock: Clock) -> impl IntoView {
    let tenant = user
        .tenant
        .clone()
        .unwrap_or_else(|| "every tenant".to_owned());
    let email = user.email.clone();
    let current = user.role;
    let last_sign_in = user.last_sign_in_at;
    view! {
        <li class="users__item" data-email=user.email.clone()>
            <div class="users__who">
                <strong>{user.email.clone()}</strong>
                <span class="users__role" data-testid="user-role">
                    {format!("{} · {tenant}", user.role.as_str())}
                </span>
                <span class="users__seen" data-testid="user-seen">
                    {move || match last_sign_in {
                        Some(at) => format!("signed in {}", clock::ago(clock.seconds_since(at))),
                        None => "not signed in yet".to_owned(),
                    }}
                </span>
                <span class="users__seen" data-testid="user-sessions">
                    {match user.active_sessions {
                        0 => "no active session".to_owned(),
                        1 => "1 active session".to_owned(),
                        count => format!("{count} active sessions"),
                    }}
                </span>
            </div>
            <details class="users__manage">
                <summary>"Manage"</summary>
                <form class="users__form" method="post" action="/users/manage">
                    <input type="hidden" name="email" value=email.clone() />
                    <input type="hidden" name="action" value="role" />
                    <label class="field">
                        <span class="field__label">"Role"</span>
                        <select name="role">
                            {roles
                                .into_iter()
                                .map(|role| {
                                    view! {
                                        <option value=role.as_str() selected=role == current>
                                            {role.as_str()}
                                        </option>
                                    }
                                })
                                .collect_view()}
                        </select>
                    </label>
                    {manages_all
                        .then(|| {
                            view! {
                                <label class="field">
                                    <span class="field__label">"Tenant (owner, member)"</span>
                                    <input
                                        name="tenant"
                                        value=user.tenant.clone().unwrap_or_default()
                                        maxlength="128"
                                    />
                                </label>
                            }
                        })}
                    <Sure />
                    <button type="submit" class="button">"Change role"</button>
                </form>
                <form class="users__form" method="post" action="/users/manage">
                    <input type="hidden" name="email" value=email.clone() />
                    <input type="hidden" name="action" value="reset" />
                    <Sure />
                    <button type="submit" class="button">"Reset password"</button>
                </form>
                <form class="users__form" method="post" action="/users/manage">
                    <input type="hidden" name="email" value=email.clone() />
                    <input type="hidden" name="action" value="sign_out" />
                    <Sure />
                    <button type="submit" class="button">"Sign out everywhere"</button>
                </form>
                <form class="users__form" method="post" action="/users/manage">
                    <input type="hidden" name="email" value=email />
                    <input type="hidden" name="action" value="remove" />
                    <Sure />
                    <button type="submit" class="button button--danger">"Remove"</button>
                </form>
            </details>
        </li>
    }
}
