//! Testing and fuzzing your protocol: a walk-through, from a handler to a running fuzzer.
#![doc = include_str!("guide.md")]
