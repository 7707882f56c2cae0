//! Integration tests of the `cepstra` binary, one module per area (ripgrep's layout).

#![allow(clippy::unwrap_used)] // test helpers: a panic is the failure report

mod bad_input;
mod feat;
mod gmm;
mod killed;
mod limits;
mod outputs;
mod util;
