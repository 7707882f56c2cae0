//! cepstra-feat (work in progress).
