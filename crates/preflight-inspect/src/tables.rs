//! Shared knowledge: devices, Kubernetes kinds, AWS verbs. Program models live in
//! `crate::programs`.

use preflight_core::Operation;

/// Whether a path is a block device: writing it destroys a file system.
pub(crate) fn is_block_device(path: &str) -> bool {
    const PREFIXES: &[&str] = &[
        "/dev/sd",
        "/dev/hd",
        "/dev/vd",
        "/dev/xvd",
        "/dev/nvme",
        "/dev/mmcblk",
        "/dev/disk",
        "/dev/mapper/",
        "/dev/md",
        "/dev/dm-",
        "/dev/loop",
        "/dev/rdisk",
        "/dev/root",
    ];
    PREFIXES.iter().any(|p| path.starts_with(p))
}

/// Device files whose writes go nowhere.
pub(crate) fn is_null_device(path: &str) -> bool {
    matches!(
        path,
        "/dev/null" | "/dev/stdout" | "/dev/stderr" | "/dev/tty" | "/dev/zero" | "/dev/stdin"
    ) || path.starts_with("/dev/fd/")
}

/// Kubernetes kinds by every name kubectl accepts, to their canonical singular name.
pub(crate) const KUBE_KINDS: &[(&str, &[&str])] = &[
    ("pod", &["po", "pods"]),
    ("deployment", &["deploy", "deployments"]),
    ("service", &["svc", "services"]),
    ("namespace", &["ns", "namespaces"]),
    ("node", &["no", "nodes"]),
    ("replicaset", &["rs", "replicasets"]),
    ("statefulset", &["sts", "statefulsets"]),
    ("daemonset", &["ds", "daemonsets"]),
    ("job", &["jobs"]),
    ("cronjob", &["cj", "cronjobs"]),
    ("configmap", &["cm", "configmaps"]),
    ("secret", &["secrets"]),
    ("ingress", &["ing", "ingresses"]),
    ("persistentvolume", &["pv", "persistentvolumes"]),
    ("persistentvolumeclaim", &["pvc", "persistentvolumeclaims"]),
    ("serviceaccount", &["sa", "serviceaccounts"]),
    ("role", &["roles"]),
    ("rolebinding", &["rolebindings"]),
    ("clusterrole", &["clusterroles"]),
    ("clusterrolebinding", &["clusterrolebindings"]),
    ("storageclass", &["sc", "storageclasses"]),
    (
        "customresourcedefinition",
        &["crd", "crds", "customresourcedefinitions"],
    ),
    (
        "horizontalpodautoscaler",
        &["hpa", "horizontalpodautoscalers"],
    ),
    ("networkpolicy", &["netpol", "networkpolicies"]),
    ("endpoints", &["ep"]),
    ("event", &["ev", "events"]),
    ("all", &[]),
];

/// Kinds that live outside any namespace.
pub(crate) const KUBE_CLUSTER_SCOPED: &[&str] = &[
    "namespace",
    "node",
    "persistentvolume",
    "clusterrole",
    "clusterrolebinding",
    "storageclass",
    "customresourcedefinition",
];

/// Kinds whose changes change who may do what.
pub(crate) const KUBE_RBAC: &[&str] = &[
    "role",
    "rolebinding",
    "clusterrole",
    "clusterrolebinding",
    "serviceaccount",
];

/// The canonical kind for a name kubectl accepts (`deploy` → `deployment`); unknown names
/// are kept, lowercased, with a trailing `s` dropped.
pub(crate) fn kube_kind(name: &str) -> String {
    let lower = name.to_ascii_lowercase();
    let base = lower.split('.').next().unwrap_or(&lower).to_string();
    for (canonical, aliases) in KUBE_KINDS {
        if *canonical == base || aliases.contains(&base.as_str()) {
            return (*canonical).to_string();
        }
    }
    base.strip_suffix('s').map(str::to_string).unwrap_or(base)
}

/// AWS operation verbs → operation, checked as a prefix of the operation name in order.
pub(crate) const AWS_VERBS: &[(&str, Operation)] = &[
    ("Describe", Operation::Read),
    ("List", Operation::Read),
    ("Get", Operation::Read),
    ("Head", Operation::Read),
    ("Search", Operation::Read),
    ("Lookup", Operation::Read),
    ("Scan", Operation::Read),
    ("Query", Operation::Read),
    ("BatchGet", Operation::Read),
    ("Select", Operation::Read),
    ("Estimate", Operation::Read),
    ("Preview", Operation::Read),
    ("Validate", Operation::Read),
    ("Simulate", Operation::Read),
    ("Test", Operation::Read),
    ("Check", Operation::Read),
    ("Filter", Operation::Read),
    ("Download", Operation::Read),
    ("Create", Operation::Create),
    ("Put", Operation::Create),
    ("Run", Operation::Create),
    ("Start", Operation::Create),
    ("Import", Operation::Create),
    ("Register", Operation::Create),
    ("Upload", Operation::Create),
    ("Copy", Operation::Create),
    ("Allocate", Operation::Create),
    ("Request", Operation::Create),
    ("Launch", Operation::Create),
    ("BatchWrite", Operation::Create),
    ("Publish", Operation::NetworkSend),
    ("Send", Operation::NetworkSend),
    ("Update", Operation::Update),
    ("Modify", Operation::Update),
    ("Stop", Operation::Update),
    ("Reboot", Operation::Update),
    ("Attach", Operation::Update),
    ("Detach", Operation::Update),
    ("Associate", Operation::Update),
    ("Disassociate", Operation::Update),
    ("Enable", Operation::Update),
    ("Disable", Operation::Update),
    ("Set", Operation::Update),
    ("Change", Operation::Update),
    ("Reset", Operation::Update),
    ("Replace", Operation::Update),
    ("Tag", Operation::Update),
    ("Untag", Operation::Update),
    ("Restore", Operation::Update),
    ("Rotate", Operation::Update),
    ("Cancel", Operation::Update),
    ("Delete", Operation::Delete),
    ("BatchDelete", Operation::Delete),
    ("Terminate", Operation::Delete),
    ("Remove", Operation::Delete),
    ("Destroy", Operation::Delete),
    ("Deregister", Operation::Delete),
    ("Release", Operation::Delete),
    ("Purge", Operation::Delete),
    ("Empty", Operation::Delete),
    ("Deprovision", Operation::Delete),
];

/// Operation name fragments that change access, whatever the service.
pub(crate) const AWS_PERMISSION_MARKERS: &[&str] = &[
    "Policy",
    "Acl",
    "Permission",
    "Authorize",
    "Revoke",
    "Grant",
    "AccessKey",
    "LoginProfile",
];

/// Services whose mutations are identity and access changes.
pub(crate) const AWS_IAM_SERVICES: &[&str] =
    &["iam", "sso-admin", "identitystore", "organizations", "sts"];
