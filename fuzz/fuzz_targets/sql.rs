#![no_main]
//! SQL inspection must never panic, for any dialect, and a string it cannot parse is opaque.

use libfuzzer_sys::fuzz_target;
use preflight_inspect::{Environments, inspect_sql};

const URLS: [&str; 5] = [
    "postgres://app@db.prod.internal/app",
    "mysql://db/app",
    "sqlite:///data/app.db",
    "mssql://db/app",
    "unknown://db/app",
];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    if let Ok(sql) = std::str::from_utf8(rest) {
        let url = URLS[usize::from(selector) % URLS.len()];
        let inspection = inspect_sql(url, sql, &Environments::default());
        if inspection.notes.iter().any(|n| n.starts_with("SQL parse error")) {
            assert!(inspection.is_opaque());
        }
    }
});
