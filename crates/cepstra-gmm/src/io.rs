//! Model and statistics files.
