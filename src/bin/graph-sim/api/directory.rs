//! The directory side of Graph: Intune's `operationApprovalPolicies`, a group's transitive
//! members, a user, and the signed-in user's groups (`/me/transitiveMemberOf`), all read from
//! the simulator's [`crate::directory`].

use axum::http::Uri;
use serde_json::{Value, json};

use crate::delegated::User;
use crate::directory::Directory;
use crate::state::SimState;

use super::paging::{page, query};
use super::respond::{GraphFail, fail};
use super::route::DirPath;

/// `GET /me/transitiveMemberOf[/microsoft.graph.group]`: the groups of the token's user; a 400
/// for an application's own token.
pub(super) fn my_groups(
    state: &SimState,
    user: Option<&User>,
    base: &str,
) -> Result<Value, GraphFail> {
    let Some(user) = user else {
        return Err(fail(
            400,
            "BadRequest",
            "/me request is only valid with delegated authentication flow.",
        ));
    };
    let groups: Vec<Value> = state
        .directory
        .transitive_groups_of(&user.id)
        .iter()
        .map(|g| g.to_graph())
        .collect();
    Ok(json!({
        "@odata.context": format!("{base}/$metadata#directoryObjects"),
        "value": groups,
    }))
}

fn directory_not_found(id: &str) -> GraphFail {
    fail(
        404,
        "Request_ResourceNotFound",
        format!(
            "Resource '{id}' does not exist or one of its queried reference-property objects are not present."
        ),
    )
}

/// Policies, group members and users.
pub(super) fn directory_answer(
    dir: &Directory,
    path: &DirPath,
    uri: &Uri,
    base: &str,
    page_size: usize,
) -> Result<Value, GraphFail> {
    match path {
        DirPath::Policies => {
            let q = query(uri, page_size, false)?;
            let all: Vec<Value> = dir.policies().map(|p| p.to_graph()).collect();
            Ok(page(
                &all,
                &q,
                format!("{base}/$metadata#deviceManagement/operationApprovalPolicies"),
                format!("{base}/deviceManagement/operationApprovalPolicies"),
                "",
            ))
        }
        DirPath::Policy(id) => {
            let mut p = dir
                .policy(id)
                .ok_or_else(|| {
                    fail(
                        404,
                        "ResourceNotFound",
                        format!("No operationApprovalPolicy with id '{id}' was found."),
                    )
                })?
                .to_graph();
            p["@odata.context"] = json!(format!(
                "{base}/$metadata#deviceManagement/operationApprovalPolicies/$entity"
            ));
            Ok(p)
        }
        DirPath::Members { group, users_only } => {
            let q = query(uri, page_size, false)?;
            let (users, groups) = dir
                .transitive_members_of(group)
                .ok_or_else(|| directory_not_found(group))?;
            let mut all: Vec<Value> = users.iter().map(|u| u.to_graph()).collect();
            let cast = if *users_only {
                "/microsoft.graph.user"
            } else {
                all.extend(groups.iter().map(|g| g.to_graph()));
                ""
            };
            let context = if *users_only {
                format!("{base}/$metadata#users")
            } else {
                format!("{base}/$metadata#directoryObjects")
            };
            Ok(page(
                &all,
                &q,
                context,
                format!("{base}/groups/{group}/transitiveMembers{cast}"),
                "",
            ))
        }
        DirPath::MyGroups => Err(fail(
            400,
            "BadRequest",
            "/me request is only valid with delegated authentication flow.",
        )),
        DirPath::User(id) => {
            let mut u = dir
                .user(id)
                .ok_or_else(|| directory_not_found(id))?
                .to_graph();
            u["@odata.context"] = json!(format!("{base}/$metadata#users/$entity"));
            Ok(u)
        }
    }
}
