//! Helpers shared by the integration tests that read `../shared/data`.

use std::path::PathBuf;

/// The first file in `../shared/data/<venue>` whose name starts with `prefix`. When it is
/// absent the test is skipped, and says so; under `CI=true` it fails instead.
pub fn data_file(venue: &str, prefix: &str) -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data")
        .join(venue);
    let found = std::fs::read_dir(&dir).ok().and_then(|entries| {
        entries.filter_map(Result::ok).map(|e| e.path()).find(|p| {
            // The `.zst` originals sit beside their plain copies; read the plain ones.
            p.file_name().is_some_and(|n| {
                let n = n.to_string_lossy();
                n.starts_with(prefix) && !n.ends_with(".zst")
            })
        })
    });
    if found.is_none() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but {}/{prefix}* is missing",
            dir.display()
        );
        eprintln!(
            "SKIPPED: {}/{prefix}* not found (real data absent)",
            dir.display()
        );
    }
    found
}
