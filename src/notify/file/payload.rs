//! The file receiver writes exactly the stdout receiver's JSON lines.

pub use crate::notify::stdout::payload::{json_lines, lines, Line};
