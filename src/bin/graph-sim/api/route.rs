//! Which Graph operation a path names: the version (`beta` or `v1.0`), then the request
//! collection (`deviceManagement/operationApprovalRequests[/{id}[/reject]]`) or a policy or
//! directory resource; any other path is Graph's 400 `BadRequest`.

use crate::state::Endpoint;

use super::respond::{GraphFail, fail};

const COLLECTION: [&str; 2] = ["deviceManagement", "operationApprovalRequests"];

/// Which Graph operation a path names.
pub(super) struct Route {
    pub(super) endpoint: Endpoint,
    pub(super) version: String,
    pub(super) id: Option<String>,
    /// A policy or directory resource ([`Endpoint::Policies`], [`Endpoint::Directory`]).
    pub(super) dir: Option<DirPath>,
}

/// The policy and directory resources.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum DirPath {
    Policies,
    Policy(String),
    /// `groups/{group}/transitiveMembers`, cast to `microsoft.graph.user` when `users_only`.
    Members {
        group: String,
        users_only: bool,
    },
    User(String),
    /// `me/transitiveMemberOf`: the groups of the signed-in user (delegated tokens only).
    MyGroups,
}

/// The policy and directory paths (after the version); `None` for any other path.
fn directory_route(rest: &[&str]) -> Option<DirPath> {
    let id = |s: &str| (!s.is_empty()).then(|| percent_decode(s));
    match rest {
        ["deviceManagement", "operationApprovalPolicies"] => Some(DirPath::Policies),
        ["deviceManagement", "operationApprovalPolicies", p] => id(p).map(DirPath::Policy),
        ["groups", g, "transitiveMembers"] => id(g).map(|group| DirPath::Members {
            group,
            users_only: false,
        }),
        ["groups", g, "transitiveMembers", "microsoft.graph.user"] => {
            id(g).map(|group| DirPath::Members {
                group,
                users_only: true,
            })
        }
        ["users", u] => id(u).map(DirPath::User),
        ["me", "transitiveMemberOf"] | ["me", "transitiveMemberOf", "microsoft.graph.group"] => {
            Some(DirPath::MyGroups)
        }
        _ => None,
    }
}

pub(super) fn route(path: &str) -> Result<Route, GraphFail> {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let version = segments.first().copied().unwrap_or_default();
    if version != "beta" && version != "v1.0" {
        return Err(fail(
            400,
            "BadRequest",
            format!("Invalid version: {version}"),
        ));
    }
    let rest = &segments[1..];
    if let Some(dir) = directory_route(rest) {
        let (endpoint, id) = match &dir {
            DirPath::Policies => (Endpoint::Policies, None),
            DirPath::Policy(p) => (Endpoint::Policies, Some(p.clone())),
            DirPath::Members { group, .. } => (Endpoint::Directory, Some(group.clone())),
            DirPath::User(u) => (Endpoint::Directory, Some(u.clone())),
            DirPath::MyGroups => (Endpoint::Directory, None),
        };
        return Ok(Route {
            endpoint,
            version: version.to_string(),
            id,
            dir: Some(dir),
        });
    }
    for (i, want) in COLLECTION.iter().enumerate() {
        match rest.get(i) {
            Some(seg) if seg == want => {}
            Some(seg) => {
                return Err(fail(
                    400,
                    "BadRequest",
                    format!("Resource not found for the segment '{seg}'."),
                ));
            }
            None => return Err(fail(400, "BadRequest", "Unsupported resource path.")),
        }
    }
    let id = rest.get(2).map(|s| percent_decode(s));
    let endpoint = match rest.len() {
        2 => Endpoint::List,
        3 if !rest[2].is_empty() => Endpoint::Get,
        4 if rest[3] == "reject" && !rest[2].is_empty() => Endpoint::Reject,
        4 => {
            return Err(fail(
                400,
                "BadRequest",
                format!("Resource not found for the segment '{}'.", rest[3]),
            ));
        }
        _ => return Err(fail(400, "BadRequest", "Unsupported resource path.")),
    };
    Ok(Route {
        endpoint,
        version: version.to_string(),
        id,
        dir: None,
    })
}

pub(super) fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(b) = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
