//! cepstra-train (work in progress).
