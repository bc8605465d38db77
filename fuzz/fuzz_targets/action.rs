#![no_main]
//! Action parsing must never panic. A rejected action names the field at fault; an accepted
//! one is valid, reads the same from its JSON value, and survives a serialization round trip
//! unchanged, digest included.

use libfuzzer_sys::fuzz_target;
use preflight_core::Action;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Action::from_json(text) {
        Ok(action) => {
            assert!(action.validate().is_ok());
            let value = serde_json::from_str(text).ok();
            if let Some(value) = value {
                let from_value = Action::from_value(value);
                assert_eq!(from_value.as_ref(), Ok(&action), "from_value disagrees");
            }
            let again = serde_json::to_string(&action).ok();
            let Some(again) = again else {
                panic!("an accepted action does not serialize");
            };
            let reparsed = Action::from_json(&again);
            let Ok(reparsed) = reparsed else {
                panic!("{again} does not read back: {reparsed:?}");
            };
            assert_eq!(action, reparsed, "{again}");
            assert_eq!(action.digest(), reparsed.digest(), "{again}");
        }
        Err(error) => {
            assert!(!error.field.is_empty(), "{error:?}");
            assert!(!error.message.is_empty(), "{error:?}");
        }
    }
});
