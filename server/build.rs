//! Rebuilds when a migration is added: `sqlx::migrate!` embeds the folders at compile time, and
//! stable Rust cannot tell cargo that a new file appeared in them.
fn main() {
    println!("cargo:rerun-if-changed=../migrations");
}
