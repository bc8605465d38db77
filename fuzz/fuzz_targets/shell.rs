#![no_main]
//! Shell inspection never panics, is deterministic, stays within its caps, and every effect
//! names a resource URI; a file path never keeps a `..`, and a secret path is tagged.

use libfuzzer_sys::fuzz_target;
use preflight_inspect::{Environments, ShellContext, inspect_shell, is_secret_path};

fuzz_target!(|data: &[u8]| {
    let Ok(command) = std::str::from_utf8(data) else {
        return;
    };
    let context = ShellContext::new(Some("/workspace/app"), Some("/home/alice"));
    let inspection = inspect_shell(command, &context, &Environments::default());
    assert!(inspection.effects.len() <= 1025, "{} effects", inspection.effects.len());
    for effect in &inspection.effects {
        assert!(effect.resource.contains("://"), "{}", effect.resource);
        if let Some(path) = effect.resource.strip_prefix("file://") {
            assert!(!path.split('/').any(|s| s == ".."), "{path}");
            if is_secret_path(path) {
                assert!(effect.has_tag("secret"), "{path} is not tagged secret");
            }
        }
    }
    let again = inspect_shell(command, &context, &Environments::default());
    assert_eq!(inspection, again, "inspection is not deterministic");
});
