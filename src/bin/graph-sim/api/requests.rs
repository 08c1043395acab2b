//! The operationApprovalRequests collection: one request by ID, and the list (paged, filtered
//! by status). The reject is in `reject.rs`.

use axum::http::Uri;
use serde_json::{Value, json};

use crate::state::SimState;

use super::paging::{page, query};
use super::respond::{GraphFail, fail};

/// `GET …/operationApprovalRequests/{id}`: the request with its `@odata.context`.
pub(super) fn get(state: &SimState, id: &str, base: &str) -> Result<Value, GraphFail> {
    let mut entity = state
        .requests
        .get(&id.to_lowercase())
        .cloned()
        .ok_or_else(|| not_found(id))?;
    if let Value::Object(map) = &mut entity {
        map.insert(
            "@odata.context".into(),
            json!(format!(
                "{base}/$metadata#deviceManagement/operationApprovalRequests/$entity"
            )),
        );
    }
    Ok(entity)
}

/// `GET …/operationApprovalRequests`: a page of the requests, `$filter`ed by status when asked.
pub(super) fn list(state: &SimState, uri: &Uri, base: &str) -> Result<Value, GraphFail> {
    let q = query(uri, state.settings.page_size, true)?;
    let matching: Vec<Value> = state
        .requests
        .values()
        .filter(|r| {
            q.status
                .as_deref()
                .is_none_or(|f| r["status"].as_str() == Some(f))
        })
        .cloned()
        .collect();
    let extra = q
        .status
        .as_ref()
        .map(|f| format!("&$filter=status%20eq%20%27{f}%27"))
        .unwrap_or_default();
    Ok(page(
        &matching,
        &q,
        format!("{base}/$metadata#deviceManagement/operationApprovalRequests"),
        format!("{base}/deviceManagement/operationApprovalRequests"),
        &extra,
    ))
}

pub(super) fn not_found(id: &str) -> GraphFail {
    fail(
        404,
        "ResourceNotFound",
        format!("No operationApprovalRequest with id '{id}' was found."),
    )
}
