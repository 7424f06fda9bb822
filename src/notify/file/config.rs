//! File settings beyond the routing config: how the file is opened.

use std::fs::{File, OpenOptions};
use std::path::Path;

/// A local append; the value only feeds the pipeline's bookkeeping.
pub const TIMEOUT_MS: i64 = 10_000;

/// Opens `path` for appending, creating it (0600 on Unix) if missing.
pub fn open_append(path: &Path) -> std::io::Result<File> {
    let mut o = OpenOptions::new();
    o.append(true).create(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    o.open(path)
}
