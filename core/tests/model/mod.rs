//! Reference models shared by the property tests (and, later, the fuzz targets).
//!
//! Every test crate that declares `mod model;` compiles all of it but may use only part of it.
#![allow(dead_code)]

pub mod framer;
