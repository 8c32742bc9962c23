//! Building blocks shared by the pages.

pub mod connection_badge;
pub mod metric_card;
pub mod panel;
pub mod period_selector;
