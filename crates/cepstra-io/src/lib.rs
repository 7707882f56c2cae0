//! cepstra-io (work in progress).
