//! cepstra-score (work in progress).
