//! HashiCorp Vault's CLI: `vault://<path>` resources. Reading a secret's value is tagged
//! `secret`; a subcommand the model does not know is unaccounted.

use preflight_core::{Effect, Operation};

use super::{Call, Program, Unaccounted};
use crate::effects::{attr, tag};

pub(super) const PROGRAMS: &[Program] = &[Program {
    names: &["vault"],
    model: vault,
}];

/// What a subcommand (one or two words) does, and whether it reveals a secret's value.
fn operation_of(words: &[&str]) -> Option<(Operation, bool)> {
    use Operation::{Create, Delete, Read, Update};
    Some(match words {
        ["status" | "version", ..] => (Read, false),
        ["read", ..] | ["kv", "get", ..] => (Read, true),
        ["list", ..]
        | ["kv", "list" | "metadata", ..]
        | [
            "secrets" | "auth" | "audit" | "policy" | "namespace",
            "list",
            ..,
        ]
        | ["policy", "read", ..]
        | ["token", "lookup" | "capabilities", ..] => (Read, false),
        ["kv", "delete" | "destroy" | "undelete", ..]
        | ["delete", ..]
        | ["secrets" | "auth" | "audit", "disable", ..]
        | ["secrets", "move", ..]
        | ["policy" | "namespace", "delete", ..]
        | ["token" | "lease", "revoke", ..] => (Delete, false),
        ["kv", "put" | "patch" | "rollback", ..]
        | ["write", ..]
        | ["secrets", "tune", ..]
        | ["auth", "tune", ..]
        | ["policy", "write" | "fmt", ..] => (Update, false),
        ["secrets" | "auth" | "audit", "enable", ..]
        | ["namespace", "create", ..]
        | ["token", "create" | "renew", ..]
        | ["lease", "renew", ..] => (Create, false),
        _ => return None,
    })
}

fn vault(call: &mut Call<'_, '_>) -> Result<(), Unaccounted> {
    if call
        .args
        .iter()
        .any(|w| w.dynamic && !w.text.starts_with('-'))
    {
        return Err(Unaccounted(
            "a vault argument only known at run time".into(),
        ));
    }
    // Flags are `-name` or `-name=value`; the rest are the subcommand and its operands.
    let words: Vec<&str> = call
        .args
        .iter()
        .map(|w| w.text.as_str())
        .filter(|t| !t.starts_with('-'))
        .collect();
    if call.args.iter().any(|w| {
        let t = w.text.as_str();
        t.starts_with("-address") || t.starts_with("-agent-address")
    }) {
        // Another server: the same operations, elsewhere; still named by path below.
        attr(&mut call.exec, "remote", "true");
    }
    if words.is_empty() {
        return Ok(());
    }
    let (operation, reveals) = operation_of(&words)
        .ok_or_else(|| Unaccounted(format!("vault `{}` is not modelled", words.join(" "))))?;
    let depth = if [
        "kv",
        "secrets",
        "auth",
        "audit",
        "policy",
        "namespace",
        "token",
        "lease",
    ]
    .contains(&words[0])
    {
        2
    } else {
        1
    };
    let subcommand = words[..depth.min(words.len())].join(" ");
    call.subcommand(&subcommand);
    let targets: Vec<&str> = words.iter().skip(depth).copied().collect();
    let targets = if targets.is_empty() {
        vec![words[0]]
    } else {
        targets
    };
    for target in targets {
        // `kv put PATH key=value`: the pairs are data, not paths.
        if target.contains('=') {
            continue;
        }
        let mut effect = Effect::new(operation, format!("vault://{}", target.trim_matches('/')));
        if reveals {
            tag(&mut effect, "secret");
        }
        attr(&mut effect, "command", "vault");
        attr(&mut effect, "subcommand", subcommand.clone());
        call.push(effect);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::programs::tests::{effects_of, has, is_opaque};

    #[test]
    fn subcommands_map_to_operations() {
        let e = effects_of("vault status");
        assert!(has(&e, "read vault://status"), "{e:?}");
        let e = effects_of("vault kv get secret/app/config");
        assert!(has(&e, "read vault://secret/app/config #secret"), "{e:?}");
        let e = effects_of("vault kv put secret/app/config key=value");
        assert!(has(&e, "update vault://secret/app/config"), "{e:?}");
        let e = effects_of("vault secrets disable -f production-secrets");
        assert!(has(&e, "delete vault://production-secrets"), "{e:?}");
        let e = effects_of("vault secrets list");
        assert!(has(&e, "read vault://secrets"), "{e:?}");
    }

    #[test]
    fn the_unknown_is_opaque() {
        for line in ["vault operator seal", "vault ssh host", "vault $CMD x"] {
            let e = effects_of(line);
            assert!(is_opaque(&e, "cmd://vault"), "{line}: {e:?}");
        }
    }
}
