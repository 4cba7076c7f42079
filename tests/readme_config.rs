//! The configuration example in README.md is valid: every key it shows exists and every
//! value resolves, so the README cannot drift from the schema unnoticed.

use std::path::Path;

use edgeline::config::Config;

#[test]
fn test_readme_config_example_resolves() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let start = readme.find("```toml\n").expect("a toml block in README.md") + "```toml\n".len();
    let end = start + readme[start..].find("```").expect("the block ends");
    let config = Config::from_toml(&readme[start..end], Path::new("README.md"), 2)
        .unwrap_or_else(|e| panic!("README.md's example does not resolve: {e}"));
    assert_eq!(config.duration.as_secs(), 30);
    assert!(!config.strict_placement);
    assert_eq!(config.placement.cores.len(), 2);
    assert_eq!(config.database.batch_rows, 512);
    assert_eq!(config.database.spool_max_bytes, 1 << 30);
}
