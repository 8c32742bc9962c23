//! Building blocks the pages share.

pub mod active_calls;
pub mod agent_table;
pub mod charts;
pub mod connection_badge;
pub mod metric_card;
pub mod panel;
pub mod period_selector;
pub mod recent_calls;
pub mod started_cell;
