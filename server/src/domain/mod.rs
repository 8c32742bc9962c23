//! Rules and their types, with no server around them: who a caller is and what they may see
//! (auth), dashboard users and their one-time links, the audit log, the figures' arithmetic and
//! list cursors.

pub mod audit;
pub mod auth;
pub mod call_detail;
pub mod cursor;
pub mod figures;
pub mod links;
pub mod passwords;
pub mod users;
