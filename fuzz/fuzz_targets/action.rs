#![no_main]
//! Action parsing must never panic, and a parsed action's digest is stable through a
//! serialization round trip.

use libfuzzer_sys::fuzz_target;
use preflight_core::Action;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(action) = Action::from_json(text) {
            let again = serde_json::to_string(&action).ok();
            if let Some(again) = again {
                if let Ok(reparsed) = Action::from_json(&again) {
                    assert_eq!(action.digest(), reparsed.digest());
                }
            }
        }
    }
});
