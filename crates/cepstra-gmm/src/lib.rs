//! cepstra-gmm (work in progress).
