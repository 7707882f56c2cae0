//! Integration tests of the `cepstra` binary, one module per area (ripgrep's layout).

mod bad_input;
mod feat;
mod gmm;
mod util;
