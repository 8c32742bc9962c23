//! Cursors of time-ordered lists (calls, reconciliation runs): the opaque `cursor` a page hands
//! out and the next request brings back, read and written the same way by every door.

use app::dto::error::DataError;
use time::PrimitiveDateTime;

use crate::storage::{reads::CallKey, record::utc};

/// The `cursor` parameter of a time-ordered list (calls, reconciliation runs); empty is none.
pub fn page_cursor(raw: Option<&str>) -> Result<Option<CallKey>, DataError> {
    raw.filter(|cursor| !cursor.is_empty())
        .map(|cursor| {
            decode_cursor(cursor)
                .ok_or_else(|| DataError::invalid("cursor", "not a cursor this API gave out"))
        })
        .transpose()
}

/// A page's continuation point (see [`app::dto::query::encode_cursor`]).
pub fn encode_cursor(started_at: PrimitiveDateTime, id: &str) -> String {
    app::dto::query::encode_cursor(started_at.assume_utc(), id)
}

fn decode_cursor(cursor: &str) -> Option<CallKey> {
    let (at, id) = app::dto::query::decode_cursor(cursor)?;
    Some(CallKey {
        started_at: utc(at),
        id,
    })
}
