#![no_main]
//! Shell inspection must never panic, and every effect it derives names a resource URI.

use libfuzzer_sys::fuzz_target;
use preflight_inspect::{Environments, ShellContext, inspect_shell};

fuzz_target!(|data: &[u8]| {
    if let Ok(command) = std::str::from_utf8(data) {
        let context = ShellContext::new(Some("/workspace/app"), Some("/home/alice"));
        let inspection = inspect_shell(command, &context, &Environments::default());
        for effect in &inspection.effects {
            assert!(effect.resource.contains("://"), "{}", effect.resource);
            if let Some(path) = effect.resource.strip_prefix("file://") {
                assert!(!path.split('/').any(|s| s == ".."), "{path}");
            }
        }
    }
});
