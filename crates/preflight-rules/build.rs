//! Converts each shipped pack to JSON at build time: a hook loads a pack on every call, and
//! JSON parses several times faster than TOML. The TOML stays the source (and what errors,
//! `policy show` and positions refer to); a test checks that both read the same.

use std::path::Path;

fn main() -> Result<(), String> {
    let out = std::env::var_os("OUT_DIR").ok_or("OUT_DIR is not set")?;
    let packs = Path::new("packs");
    println!("cargo::rerun-if-changed=packs");
    let mut entries: Vec<_> = std::fs::read_dir(packs)
        .map_err(|e| format!("reading {}: {e}", packs.display()))?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().and_then(|e| e.to_str()) == Some("toml"))
        .collect();
    entries.sort();
    for path in entries {
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("reading {}: {e}", path.display()))?;
        // A pack that is not valid TOML fails the build here, with the file named.
        let value: toml::Table =
            toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        let json = serde_json::to_string(&value).map_err(|e| format!("{}: {e}", path.display()))?;
        let name = path.with_extension("json");
        let target = Path::new(&out).join(name.file_name().unwrap_or_default());
        std::fs::write(&target, json).map_err(|e| format!("writing {}: {e}", target.display()))?;
    }
    Ok(())
}
