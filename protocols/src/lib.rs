//! The example protocols of pants, written once and shared by the examples, the tests and the
//! fuzz targets. Each is a [`pants_core::Handler`].
#![warn(missing_docs, unreachable_pub)]
