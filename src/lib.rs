//! pants: event-driven networking channels with callbacks.
#![warn(missing_docs)]

pub use pants_core::*;
