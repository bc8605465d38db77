//! Guessing which environment a profile, context or workspace belongs to, from its name.
//!
//! A guess is only a starting point for the person who reviews the policy, so it errs on the
//! strict side: a name with both a production part and a development part is production.

use std::collections::BTreeMap;
use std::fmt;

use super::sources::Found;

/// An environment a name is guessed to belong to, from the least to the most strict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Class {
    /// Nothing in the name says: a person classifies it.
    Unclassified,
    /// Development: local clusters, sandboxes.
    Dev,
    /// Staging, QA, pre-production.
    Staging,
    /// Production.
    Production,
}

impl Class {
    /// The environment name written into the policy.
    pub fn environment(self) -> &'static str {
        match self {
            Self::Production => "production",
            Self::Staging => "staging",
            Self::Dev => "dev",
            Self::Unclassified => "unclassified",
        }
    }

    /// Every class, the strictest first: the order of the policy's sections.
    pub const ALL: [Class; 4] = [
        Self::Production,
        Self::Staging,
        Self::Dev,
        Self::Unclassified,
    ];
}

impl fmt::Display for Class {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.environment())
    }
}

const PRODUCTION_WORDS: &[&str] = &["prod", "prd", "production", "live"];
const STAGING_WORDS: &[&str] = &[
    "staging", "stage", "stg", "preprod", "uat", "qa", "test", "testing",
];
const DEV_WORDS: &[&str] = &[
    "dev",
    "develop",
    "development",
    "local",
    "sandbox",
    "sbx",
    "kind",
    "minikube",
    "k3d",
    "k3s",
    "microk8s",
    "desktop",
];

/// A guess and the word of the name it rests on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Guess {
    /// The class guessed.
    pub class: Class,
    /// The word that decided it; `None` for unclassified.
    pub word: Option<String>,
}

/// The strictest class any of `names` suggests. Names are split into words at punctuation,
/// between lower and upper case and between letters and digits, so `prod-admin`, `ProdAdmin`,
/// `prod1` and `arn:aws:eks:…:cluster/prod` are production but `product` and `delivery` are
/// not.
pub fn guess<'a>(names: impl IntoIterator<Item = &'a str>) -> Guess {
    let mut best = Guess {
        class: Class::Unclassified,
        word: None,
    };
    for name in names {
        for word in words(name) {
            let class = if PRODUCTION_WORDS.contains(&word.as_str()) {
                Class::Production
            } else if STAGING_WORDS.contains(&word.as_str()) {
                Class::Staging
            } else if DEV_WORDS.contains(&word.as_str()) {
                Class::Dev
            } else {
                continue;
            };
            if class > best.class {
                best = Guess {
                    class,
                    word: Some(word),
                };
            }
        }
    }
    best
}

/// The lowercase words of a name.
pub fn words(name: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut previous: Option<char> = None;
    for c in name.chars() {
        if !c.is_alphanumeric() {
            flush(&mut words, &mut current);
            previous = None;
            continue;
        }
        if let Some(p) = previous {
            let case_change = p.is_lowercase() && c.is_uppercase();
            let digit_change = p.is_ascii_digit() != c.is_ascii_digit();
            if case_change || digit_change {
                flush(&mut words, &mut current);
            }
        }
        current.extend(c.to_lowercase());
        previous = Some(c);
    }
    flush(&mut words, &mut current);
    words
}

fn flush(words: &mut Vec<String>, current: &mut String) {
    if !current.is_empty() {
        words.push(std::mem::take(current));
    }
}

/// What a marker in `[environments.*]` is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum MarkerKind {
    /// `aws_profiles`.
    AwsProfile,
    /// `aws_accounts`.
    AwsAccount,
    /// `kube_contexts`.
    KubeContext,
    /// `terraform_workspaces`.
    TerraformWorkspace,
}

impl MarkerKind {
    /// The field of `EnvironmentMarkers` it is written to.
    pub fn field(self) -> &'static str {
        match self {
            Self::AwsProfile => "aws_profiles",
            Self::AwsAccount => "aws_accounts",
            Self::KubeContext => "kube_contexts",
            Self::TerraformWorkspace => "terraform_workspaces",
        }
    }

    /// How the summary names it.
    pub fn label(self) -> &'static str {
        match self {
            Self::AwsProfile => "AWS profile",
            Self::AwsAccount => "AWS account",
            Self::KubeContext => "kube context",
            Self::TerraformWorkspace => "Terraform workspace",
        }
    }

    /// Every kind, in the order the policy lists them.
    pub const ALL: [MarkerKind; 4] = [
        Self::AwsProfile,
        Self::AwsAccount,
        Self::KubeContext,
        Self::TerraformWorkspace,
    ];
}

/// One marker of the policy, its class and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// What it is.
    pub kind: MarkerKind,
    /// The profile, account id, context or workspace.
    pub value: String,
    /// The environment it is put in.
    pub class: Class,
    /// Why: the word guessed from, or what it shares with a classified entry.
    pub why: String,
    /// Where it was found.
    pub origin: String,
}

/// Classifies everything found. Profiles that share an account, and contexts that share a
/// cluster, reach the same place, so each takes the strictest class of its group: a `default`
/// profile for the production account is production.
pub fn classify(found: &Found) -> Vec<Entry> {
    let mut entries = Vec::new();

    // Each account's class is the strictest of its profiles'.
    let mut accounts: BTreeMap<&str, (Guess, &str, Vec<String>)> = BTreeMap::new();
    for profile in &found.aws_profiles {
        let Some(account) = profile.account.as_deref() else {
            continue;
        };
        let own = guess([profile.name.as_str()]);
        let slot = accounts
            .entry(account)
            .or_insert_with(|| (own.clone(), profile.name.as_str(), Vec::new()));
        if own.class > slot.0.class {
            slot.0 = own;
            slot.1 = profile.name.as_str();
        }
        slot.2
            .push(format!("profile {} ({})", profile.name, profile.origin));
    }
    for profile in &found.aws_profiles {
        let own = guess([profile.name.as_str()]);
        let shared = profile
            .account
            .as_deref()
            .and_then(|a| accounts.get(a).map(|slot| (a, slot)));
        let (class, why) = match shared {
            Some((account, (group, by, _))) if group.class > own.class => (
                group.class,
                format!("it reaches account {account}, as profile {by} does"),
            ),
            _ => (own.class, because(&own)),
        };
        entries.push(Entry {
            kind: MarkerKind::AwsProfile,
            value: profile.name.clone(),
            class,
            why,
            origin: profile.origin.clone(),
        });
    }
    for (account, (group, by, profiles)) in &accounts {
        let why = match &group.word {
            Some(word) => {
                format!("the account of profile {by}, whose name has the part \"{word}\"")
            }
            None => "no profile of this account says which environment".to_string(),
        };
        entries.push(Entry {
            kind: MarkerKind::AwsAccount,
            value: (*account).to_string(),
            class: group.class,
            why,
            origin: profiles.join(", "),
        });
    }

    // Each cluster's class is the strictest of its contexts' (a context is judged by its own
    // name and its cluster's).
    let own_guess = |context: &super::sources::KubeContext| {
        guess(std::iter::once(context.name.as_str()).chain(context.cluster.as_deref()))
    };
    let mut clusters: BTreeMap<&str, (Guess, &str)> = BTreeMap::new();
    for context in &found.kube_contexts {
        let Some(cluster) = context.cluster.as_deref() else {
            continue;
        };
        let own = own_guess(context);
        let slot = clusters
            .entry(cluster)
            .or_insert_with(|| (own.clone(), context.name.as_str()));
        if own.class > slot.0.class {
            *slot = (own, context.name.as_str());
        }
    }
    for context in &found.kube_contexts {
        let own = own_guess(context);
        let shared = context
            .cluster
            .as_deref()
            .and_then(|c| clusters.get(c).map(|slot| (c, slot)));
        let (class, why) = match shared {
            Some((cluster, (group, by))) if group.class > own.class => (
                group.class,
                format!("it reaches cluster {cluster}, as context {by} does"),
            ),
            _ => (own.class, because(&own)),
        };
        let origin = match &context.cluster {
            Some(cluster) => format!("{} (cluster {cluster})", context.origin),
            None => context.origin.clone(),
        };
        entries.push(Entry {
            kind: MarkerKind::KubeContext,
            value: context.name.clone(),
            class,
            why,
            origin,
        });
    }

    for workspace in &found.terraform_workspaces {
        let own = guess([workspace.name.as_str()]);
        entries.push(Entry {
            kind: MarkerKind::TerraformWorkspace,
            value: workspace.name.clone(),
            class: own.class,
            why: because(&own),
            origin: workspace.origin.clone(),
        });
    }
    entries
}

fn because(guess: &Guess) -> String {
    match &guess.word {
        Some(word) => format!("the name has the part \"{word}\""),
        None => "nothing in the name says which environment".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::sources::{AwsProfile, KubeContext, Workspace};
    use super::*;

    fn class(name: &str) -> Class {
        guess([name]).class
    }

    #[test]
    fn production_is_a_whole_word_part_in_any_case() {
        for name in [
            "prod",
            "PROD",
            "prod-admin",
            "ProdAdmin",
            "adminProd",
            "prod1",
            "eu-prd",
            "Production",
            "live_eu",
            "arn:aws:eks:us-east-1:111111111111:cluster/prod",
            "gke_acme_europe-west1_prod-cluster",
        ] {
            assert_eq!(class(name), Class::Production, "{name}");
        }
        for name in [
            "product",
            "products-api",
            "delivery",
            "olive",
            "reprod",
            "prodigy",
        ] {
            assert_ne!(class(name), Class::Production, "{name}");
        }
    }

    #[test]
    fn staging_and_dev_are_guessed_and_the_strictest_part_wins() {
        assert_eq!(class("staging"), Class::Staging);
        assert_eq!(class("eu-stg-1"), Class::Staging);
        assert_eq!(class("preprod"), Class::Staging);
        assert_eq!(class("kind-dev"), Class::Dev);
        assert_eq!(class("minikube"), Class::Dev);
        assert_eq!(class("docker-desktop"), Class::Dev);
        assert_eq!(class("default"), Class::Unclassified);
        assert_eq!(class("team-a"), Class::Unclassified);
        // A name that says both is treated as the stricter.
        assert_eq!(class("dev-to-prod"), Class::Production);
        assert_eq!(class("pre-prod"), Class::Production);
        assert_eq!(class("staging-dev"), Class::Staging);
        let g = guess(["kind-dev", "prod-eks"]);
        assert_eq!(g.class, Class::Production);
        assert_eq!(g.word.as_deref(), Some("prod"));
    }

    #[test]
    fn words_split_at_punctuation_case_and_digits() {
        assert_eq!(words("prod-Admin_eu1"), ["prod", "admin", "eu", "1"]);
        assert_eq!(words("myProdCluster"), ["my", "prod", "cluster"]);
        assert_eq!(words("--"), Vec::<String>::new());
    }

    fn profile(name: &str, account: Option<&str>) -> AwsProfile {
        AwsProfile {
            name: name.into(),
            region: None,
            account: account.map(Into::into),
            origin: format!("config [{name}]"),
        }
    }

    fn find<'a>(entries: &'a [Entry], kind: MarkerKind, value: &str) -> &'a Entry {
        entries
            .iter()
            .find(|e| e.kind == kind && e.value == value)
            .unwrap_or_else(|| panic!("no entry {value}"))
    }

    #[test]
    fn a_profile_sharing_a_production_account_is_production() {
        let found = Found {
            aws_profiles: vec![
                profile("default", Some("111111111111")),
                profile("prod-admin", Some("111111111111")),
                profile("sandbox", Some("333333333333")),
                profile("other", None),
            ],
            ..Found::default()
        };
        let entries = classify(&found);
        let default = find(&entries, MarkerKind::AwsProfile, "default");
        assert_eq!(default.class, Class::Production);
        assert!(default.why.contains("prod-admin"), "{}", default.why);
        let account = find(&entries, MarkerKind::AwsAccount, "111111111111");
        assert_eq!(account.class, Class::Production);
        assert_eq!(
            find(&entries, MarkerKind::AwsAccount, "333333333333").class,
            Class::Dev
        );
        assert_eq!(
            find(&entries, MarkerKind::AwsProfile, "other").class,
            Class::Unclassified
        );
    }

    #[test]
    fn a_context_is_judged_by_its_cluster_too() {
        let context = |name: &str, cluster: &str| KubeContext {
            name: name.into(),
            cluster: Some(cluster.into()),
            origin: "kubeconfig".into(),
        };
        let found = Found {
            kube_contexts: vec![
                context("ops", "prod-eks"),
                context("admin@shared", "shared"),
                context("kind-dev", "shared"),
            ],
            terraform_workspaces: vec![Workspace {
                name: "prd".into(),
                origin: "terraform.tfstate.d/prd".into(),
            }],
            ..Found::default()
        };
        let entries = classify(&found);
        assert_eq!(
            find(&entries, MarkerKind::KubeContext, "ops").class,
            Class::Production
        );
        // Sharing a cluster with a dev context makes an unnamed context dev as well.
        assert_eq!(
            find(&entries, MarkerKind::KubeContext, "admin@shared").class,
            Class::Dev
        );
        assert_eq!(
            find(&entries, MarkerKind::TerraformWorkspace, "prd").class,
            Class::Production
        );
    }
}
