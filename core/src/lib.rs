//! pants-core: the sans-IO core of pants (work in progress).
#![warn(missing_docs, unreachable_pub)]

mod delimiter;
mod error;
mod framer;
mod length_prefix;
#[cfg(feature = "regex")]
mod regex_delimiter;

pub use delimiter::ReadDelimiter;
pub use error::{
    ConnectError, DelimiterError, Direction, Error, FrameError, FrameLengthError, OverflowError,
    TruncatedFrame, WriteError,
};
pub use framer::{Framer, ReadLimits};
pub use length_prefix::{Endian, LengthPrefix};
