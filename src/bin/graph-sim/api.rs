//! The simulated Graph endpoints, strict where Graph is and stricter where the SPEC is:
//!
//! - `GET  /{beta|v1.0}/deviceManagement/operationApprovalRequests` (`$top`, `$skiptoken`,
//!   `$filter=status eq '…'`; pages linked by `@odata.nextLink`)
//! - `GET  /{beta|v1.0}/deviceManagement/operationApprovalRequests/{id}`
//! - `POST /{beta|v1.0}/deviceManagement/operationApprovalRequests/{id}/reject`
//! - `GET  /{beta|v1.0}/deviceManagement/operationApprovalPolicies[/{id}]` (paged like the list)
//! - `GET  /{beta|v1.0}/groups/{id}/transitiveMembers[/microsoft.graph.user]` (the users, and
//!   without the cast the nested groups too, of the [`crate::directory`]; paged; 404
//!   `Request_ResourceNotFound` for an unknown group)
//! - `GET  /{beta|v1.0}/users/{id}`
//!
//! Every call needs `Authorization: Bearer <token issued here, unexpired, for this host>` (else
//! 401 `InvalidAuthenticationToken`) and an `Accept` that allows `application/json` (else 406). The
//! reject needs `Content-Type: application/json` (else 415) and a body that is a JSON object with
//! exactly `justification` (string, at most 1024 UTF-16 code units) and `approvalSource` (`unknown`,
//! `adminConsole` or `email`), else 400. Rejecting a request that is not `needsApproval` is a 400;
//! an unknown ID a 404. Errors have Graph's shape `{"error": {"code", "message", "innerError":
//! {"date", "request-id", "client-request-id"}}}` and every answer has `request-id` and
//! `client-request-id` headers.

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime};

use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::directory::Directory;
use crate::net::Conn;
use crate::state::{Call, Endpoint, FaultAction, Shared, SimState, iso8601};

/// Graph's limit on `justification`, counted in UTF-16 code units.
pub const MAX_JUSTIFICATION_UTF16: usize = 1024;

const COLLECTION: [&str; 2] = ["deviceManagement", "operationApprovalRequests"];

pub fn headers_of_interest(headers: &HeaderMap) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for name in [
        "accept",
        "content-type",
        "client-request-id",
        "user-agent",
        "host",
        "retry-after",
    ] {
        if let Some(v) = headers.get(name).and_then(|v| v.to_str().ok()) {
            out.insert(name.to_string(), v.to_string());
        }
    }
    if let Some(v) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let scheme = v.split_whitespace().next().unwrap_or_default();
        out.insert("authorization".into(), format!("{scheme} <redacted>"));
    }
    out
}

/// A Graph error answer.
pub struct GraphFail {
    pub status: StatusCode,
    pub code: String,
    pub message: String,
}

fn fail(status: u16, code: &str, message: impl Into<String>) -> GraphFail {
    GraphFail {
        status: StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
        code: code.to_string(),
        message: message.into(),
    }
}

fn error_response(f: &GraphFail, request_id: &str, client_request_id: &str) -> Response {
    let body = json!({
        "error": {
            "code": f.code,
            "message": f.message,
            "innerError": {
                "date": iso8601(SystemTime::now()).trim_end_matches('Z'),
                "request-id": request_id,
                "client-request-id": client_request_id,
            }
        }
    });
    let mut response = (
        f.status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response();
    if f.status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"\", error=\"invalid_token\""),
        );
    }
    response
}

/// Which Graph operation a path names.
struct Route {
    endpoint: Endpoint,
    version: String,
    id: Option<String>,
    /// A policy or directory resource ([`Endpoint::Policies`], [`Endpoint::Directory`]).
    dir: Option<DirPath>,
}

/// The policy and directory resources.
#[derive(Clone, Debug, PartialEq, Eq)]
enum DirPath {
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

fn route(path: &str) -> Result<Route, GraphFail> {
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

fn percent_decode(s: &str) -> String {
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

fn media_type(value: &str) -> String {
    value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// Graph-side handling of one call, on the locked state.
fn handle(
    state: &mut SimState,
    method: &Method,
    uri: &Uri,
    host: &str,
    headers: &HeaderMap,
    body: &[u8],
    route: &Route,
) -> Result<Value, GraphFail> {
    let allowed = match route.endpoint {
        Endpoint::Reject => Method::POST,
        _ => Method::GET,
    };
    if *method != allowed {
        return Err(fail(
            405,
            "BadRequest",
            format!("The HTTP method '{method}' is not allowed for this resource; use {allowed}."),
        ));
    }

    // Authorization: a bearer token issued here, unexpired, for this host.
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let token = match auth.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            token.trim()
        }
        _ => {
            return Err(fail(
                401,
                "InvalidAuthenticationToken",
                "Access token is empty.",
            ));
        }
    };
    let Some(issued) = state.tokens.get(token) else {
        return Err(fail(
            401,
            "InvalidAuthenticationToken",
            "IDX14100: JWT is not well formed, there are no dots (.). The token was not issued by this simulator.",
        ));
    };
    if Instant::now() >= issued.expires_at {
        return Err(fail(
            401,
            "InvalidAuthenticationToken",
            "Lifetime validation failed, the token is expired.",
        ));
    }
    let issued_user = issued.user.clone();
    let issued_scope = issued.scope.clone();
    let request_host = host
        .rsplit_once(':')
        .map(|(h, _)| h)
        .unwrap_or(host)
        .to_ascii_lowercase();
    if !state.settings.any_audience && issued.audience_host != request_host {
        return Err(fail(
            401,
            "InvalidAuthenticationToken",
            format!(
                "Invalid audience: the token is for {} (scope {}), this is {request_host}.",
                issued.audience_host, issued.scope
            ),
        ));
    }

    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let accepts_json = accept
        .split(',')
        .map(media_type)
        .any(|m| m == "application/json" || m == "application/*" || m == "*/*");
    if !accepts_json {
        return Err(fail(
            406,
            "NotAcceptable",
            format!("The Accept header must allow application/json (got {accept:?})."),
        ));
    }

    let base = format!("http://{host}/{}", route.version);
    match route.endpoint {
        Endpoint::Get => {
            let id = route.id.as_deref().unwrap_or_default();
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
        Endpoint::Reject => {
            let id = route.id.as_deref().unwrap_or_default();
            let ctype = headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            if media_type(ctype) != "application/json" {
                return Err(fail(
                    415,
                    "UnsupportedMediaType",
                    format!("The Content-Type must be application/json (got {ctype:?})."),
                ));
            }
            let justification = check_reject_body(body)?;
            let settings_client = state.settings.client_id.clone();
            let user = issued_user.clone();
            if user.is_none() && state.settings.decisions_delegated_only {
                return Err(fail(
                    403,
                    "Forbidden",
                    "Applications can't approve or reject Multi Admin Approval requests: only interactive admin accounts can (application-only token).",
                ));
            }
            if let Some(u) = &user
                && !issued_scope
                    .split_whitespace()
                    .any(|s| s.ends_with("/DeviceManagementConfiguration.ReadWrite.All"))
            {
                return Err(fail(
                    403,
                    "Forbidden",
                    format!(
                        "{} has not consented to DeviceManagementConfiguration.ReadWrite.All (scopes: {issued_scope}).",
                        u.user_principal_name
                    ),
                ));
            }
            let request = state
                .requests
                .get_mut(&id.to_lowercase())
                .ok_or_else(|| not_found(id))?;
            let status = request["status"].as_str().unwrap_or("unknown").to_string();
            if let Some(u) = &user
                && !may_decide(&state.directory, request, &u.id)
            {
                return Err(fail(
                    403,
                    "Forbidden",
                    format!(
                        "{} is not a member of an approver group of this request's Multi Admin Approval policy.",
                        u.user_principal_name
                    ),
                ));
            }
            if let Some(u) = &user
                && request["requestor"]["user"]["id"].as_str() == Some(u.id.as_str())
            {
                return Err(fail(
                    403,
                    "Forbidden",
                    "The requestor of an operation approval request cannot approve or reject it.",
                ));
            }
            if status != "needsApproval" {
                return Err(fail(
                    400,
                    "BadRequest",
                    format!(
                        "Operation approval request {id} is in status '{status}' and cannot be rejected."
                    ),
                ));
            }
            if let Value::Object(map) = request {
                map.insert("status".into(), json!("rejected"));
                map.insert("approvalJustification".into(), json!(justification));
                map.insert(
                    "lastModifiedDateTime".into(),
                    json!(iso8601(SystemTime::now())),
                );
                let approver = match &user {
                    Some(u) => json!({"user": {
                        "id": u.id,
                        "displayName": u.display_name,
                        "userPrincipalName": u.user_principal_name,
                    }}),
                    None => {
                        json!({"application": {"id": settings_client, "displayName": "reject-bridge"}})
                    }
                };
                map.insert("approver".into(), approver);
            }
            Ok(
                json!({"@odata.context": format!("{base}/$metadata#Edm.String"), "value": "rejected"}),
            )
        }
        Endpoint::List => list(state, uri, &base),
        Endpoint::Policies | Endpoint::Directory => match &route.dir {
            Some(DirPath::MyGroups) => {
                let Some(user) = &issued_user else {
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
            Some(dir) => {
                directory_answer(&state.directory, dir, uri, &base, state.settings.page_size)
            }
            None => Err(fail(400, "BadRequest", "Unsupported resource path.")),
        },
        Endpoint::Token | Endpoint::Devicecode | Endpoint::Other => {
            Err(fail(400, "BadRequest", "Unsupported resource path."))
        }
    }
}

/// Whether user `user_id` is in an approver group of a policy whose type the request requires.
/// A request whose policy types no policy of the directory names is open to any user (an
/// unseeded directory).
fn may_decide(dir: &Directory, request: &Value, user_id: &str) -> bool {
    let types: Vec<&str> = request["requiredOperationApprovalPolicyTypes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let groups: Vec<String> = dir
        .policies()
        .filter(|p| types.iter().any(|t| p.policy_type.eq_ignore_ascii_case(t)))
        .flat_map(|p| p.approver_group_ids.iter().map(|g| g.to_lowercase()))
        .collect();
    if groups.is_empty() {
        return true;
    }
    dir.transitive_groups_of(user_id)
        .iter()
        .any(|g| groups.contains(&g.id.to_lowercase()))
}

fn not_found(id: &str) -> GraphFail {
    fail(
        404,
        "ResourceNotFound",
        format!("No operationApprovalRequest with id '{id}' was found."),
    )
}

/// The reject body: exactly `justification` and `approvalSource`, well typed.
fn check_reject_body(body: &[u8]) -> Result<String, GraphFail> {
    let text = std::str::from_utf8(body)
        .map_err(|_| fail(400, "BadRequest", "The request body is not valid UTF-8."))?;
    let value: Value = serde_json::from_str(text).map_err(|e| {
        fail(
            400,
            "BadRequest",
            format!("The request body is not valid JSON: {e}"),
        )
    })?;
    let Value::Object(map) = value else {
        return Err(fail(
            400,
            "BadRequest",
            "The request body must be a JSON object.",
        ));
    };
    check_keys(&map)?;
    let justification = match &map["justification"] {
        Value::String(s) => s.clone(),
        other => {
            return Err(fail(
                400,
                "BadRequest",
                format!(
                    "Cannot convert the literal '{other}' to the expected type 'Edm.String' (justification)."
                ),
            ));
        }
    };
    let units = justification.encode_utf16().count();
    if units > MAX_JUSTIFICATION_UTF16 {
        return Err(fail(
            400,
            "BadRequest",
            format!(
                "Maximum length of justification is {MAX_JUSTIFICATION_UTF16} characters; it has {units}."
            ),
        ));
    }
    match map["approvalSource"].as_str() {
        Some("unknown" | "adminConsole" | "email") => {}
        _ => {
            return Err(fail(
                400,
                "BadRequest",
                format!(
                    "The value {} is not a valid operationApprovalSource (unknown, adminConsole, email).",
                    map["approvalSource"]
                ),
            ));
        }
    }
    Ok(justification)
}

fn check_keys(map: &Map<String, Value>) -> Result<(), GraphFail> {
    for key in map.keys() {
        if key != "justification" && key != "approvalSource" {
            return Err(fail(
                400,
                "BadRequest",
                format!(
                    "The property '{key}' does not exist on type 'microsoft.graph.reject'. Make sure to only use property names that are defined by the type."
                ),
            ));
        }
    }
    for key in ["justification", "approvalSource"] {
        if !map.contains_key(key) {
            return Err(fail(
                400,
                "BadRequest",
                format!("The parameter '{key}' is required."),
            ));
        }
    }
    Ok(())
}

/// The paging and filter options of a collection GET.
struct Query {
    top: usize,
    skip: usize,
    /// `$filter=status eq '…'` (request lists only).
    status: Option<String>,
}

/// The query options of `uri`; `page_size` is the default page size and, as with Graph's own
/// caps, the largest one (`$top` may ask for fewer).
fn query(uri: &Uri, page_size: usize, filterable: bool) -> Result<Query, GraphFail> {
    let mut q = Query {
        top: page_size,
        skip: 0,
        status: None,
    };
    for part in uri
        .query()
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
    {
        let (k, v) = part.split_once('=').unwrap_or((part, ""));
        let (k, v) = (percent_decode(k), percent_decode(&v.replace('+', " ")));
        match k.as_str() {
            "$top" => {
                q.top = v
                    .parse::<usize>()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| fail(400, "BadRequest", format!("Invalid $top value '{v}'.")))?
                    .min(page_size)
            }
            "$skiptoken" => {
                q.skip = v
                    .parse()
                    .map_err(|_| fail(400, "BadRequest", "Invalid $skiptoken."))?
            }
            "$filter" if filterable => {
                let wanted = v
                    .strip_prefix("status eq '")
                    .and_then(|r| r.strip_suffix('\''))
                    .ok_or_else(|| fail(400, "BadRequest", format!("Invalid filter clause: only status eq '…' is simulated (got '{v}').")))?;
                q.status = Some(wanted.to_string());
            }
            "$select" | "$orderby" => {}
            other => {
                return Err(fail(
                    400,
                    "BadRequest",
                    format!("Query option '{other}' is not allowed."),
                ));
            }
        }
    }
    Ok(q)
}

/// One page of `all` as Graph answers a collection: `value`, and `@odata.nextLink` (the
/// collection's URL `link` with `$top`, `$skiptoken` and `link_extra`) while more remain.
fn page(all: &[Value], q: &Query, context: String, link: String, link_extra: &str) -> Value {
    let value: Vec<Value> = all.iter().skip(q.skip).take(q.top).cloned().collect();
    let mut answer = json!({"@odata.context": context, "value": value});
    if q.skip + q.top < all.len() {
        answer["@odata.nextLink"] = json!(format!(
            "{link}?$top={}&$skiptoken={}{link_extra}",
            q.top,
            q.skip + q.top
        ));
    }
    answer
}

fn list(state: &SimState, uri: &Uri, base: &str) -> Result<Value, GraphFail> {
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
fn directory_answer(
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

/// Every call that is not the token endpoint or `/_sim/`.
pub async fn graph(
    State(sim): State<Shared>,
    ConnectInfo(conn): ConnectInfo<Conn>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string();
    let client_request_id = headers
        .get("client-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let routed = route(uri.path());
    let (endpoint, id) = match &routed {
        Ok(r) => (r.endpoint, r.id.clone()),
        Err(_) => (Endpoint::Other, None),
    };
    let body_value = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&body).unwrap_or_else(|_| json!(String::from_utf8_lossy(&body)))
    };
    let call = Call {
        seq: 0,
        at_ms: 0,
        method: method.to_string(),
        path: uri.to_string(),
        endpoint,
        id: id.clone(),
        host: host.clone(),
        headers: headers_of_interest(&headers),
        body: body_value,
        status: 0,
        fault: None,
    };
    let (fault, index) = sim.lock().unwrap_or_else(|e| e.into_inner()).arrive(call);
    let mut drop_after = false;
    match &fault {
        Some(FaultAction::Delay { ms }) => tokio::time::sleep(Duration::from_millis(*ms)).await,
        Some(FaultAction::Drop) => {
            conn.kill();
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
        Some(FaultAction::DropAfterApply) => drop_after = true,
        Some(FaultAction::DelayAfterApply { .. }) => {}
        Some(FaultAction::ExpireToken) => sim
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .expire_tokens(),
        Some(FaultAction::Status {
            status,
            retry_after,
            code,
            message,
        }) => {
            let default_code = match status {
                429 => "TooManyRequests",
                503 => "ServiceUnavailable",
                504 => "GatewayTimeout",
                s if *s >= 500 => "InternalServerError",
                _ => "BadRequest",
            };
            let f = fail(
                *status,
                code.as_deref().unwrap_or(default_code),
                message
                    .clone()
                    .unwrap_or_else(|| "Simulated failure.".into()),
            );
            let mut response = error_response(&f, &request_id, &client_request_id);
            if let Some(ra) = retry_after
                && let Ok(v) = HeaderValue::from_str(ra)
            {
                response.headers_mut().insert(header::RETRY_AFTER, v);
            }
            finish(&mut response, &request_id, &client_request_id);
            sim.lock()
                .unwrap_or_else(|e| e.into_inner())
                .answered(index, *status);
            return response;
        }
        None => {}
    }

    let response = answer(
        &sim,
        index,
        routed,
        &method,
        &uri,
        &host,
        &headers,
        &body,
        &request_id,
        &client_request_id,
    );
    if drop_after {
        conn.kill();
    }
    if let Some(FaultAction::DelayAfterApply { ms }) = &fault {
        tokio::time::sleep(Duration::from_millis(*ms)).await;
    }
    response
}

/// Handles the call under the lock and records its status.
#[allow(clippy::too_many_arguments)]
fn answer(
    sim: &Shared,
    index: usize,
    routed: Result<Route, GraphFail>,
    method: &Method,
    uri: &Uri,
    host: &str,
    headers: &HeaderMap,
    body: &Bytes,
    request_id: &str,
    client_request_id: &str,
) -> Response {
    let mut s = sim.lock().unwrap_or_else(|e| e.into_inner());
    let result = routed.and_then(|r| handle(&mut s, method, uri, host, headers, body, &r));
    let mut response = match result {
        Ok(value) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8")],
            value.to_string(),
        )
            .into_response(),
        Err(f) => error_response(&f, request_id, client_request_id),
    };
    finish(&mut response, request_id, client_request_id);
    s.answered(index, response.status().as_u16());
    response
}

fn finish(response: &mut Response, request_id: &str, client_request_id: &str) {
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(request_id) {
        headers.insert("request-id", v);
    }
    if !client_request_id.is_empty()
        && let Ok(v) = HeaderValue::from_str(client_request_id)
    {
        headers.insert("client-request-id", v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        let r = route("/beta/deviceManagement/operationApprovalRequests/abc/reject")
            .ok()
            .unwrap();
        assert_eq!(r.endpoint, Endpoint::Reject);
        assert_eq!(r.id.as_deref(), Some("abc"));
        assert_eq!(
            route("/v1.0/deviceManagement/operationApprovalRequests")
                .ok()
                .unwrap()
                .endpoint,
            Endpoint::List
        );
        assert!(route("/v2/deviceManagement/operationApprovalRequests/a").is_err());
        assert!(route("/beta/devicemanagement/operationApprovalRequests/a").is_err());
        assert!(route("/beta/deviceManagement/operationApprovalRequests/a/approve").is_err());
        let r = route("/v1.0/groups/g%2D1/transitiveMembers/microsoft.graph.user")
            .ok()
            .unwrap();
        assert_eq!(r.endpoint, Endpoint::Directory);
        assert_eq!(
            r.dir,
            Some(DirPath::Members {
                group: "g-1".into(),
                users_only: true
            })
        );
        let r = route("/beta/deviceManagement/operationApprovalPolicies")
            .ok()
            .unwrap();
        assert_eq!(r.endpoint, Endpoint::Policies);
        assert_eq!(r.dir, Some(DirPath::Policies));
        assert!(route("/beta/groups/g/members").is_err());
        assert!(route("/beta/users/").is_err());
    }

    #[test]
    fn members_are_paged_with_next_links() {
        let mut dir = Directory::default();
        let users: Vec<Value> = (0..5)
            .map(|i| json!({"id": format!("u{i}"), "userPrincipalName": format!("u{i}@x.test"), "displayName": format!("U{i}")}))
            .collect();
        let ids: Vec<String> = (0..5).map(|i| format!("u{i}")).collect();
        dir.apply(
            serde_json::from_value(json!({
                "users": users,
                "groups": [{"id": "g", "displayName": "G", "members": ids}],
            }))
            .unwrap(),
        )
        .unwrap();
        let path = DirPath::Members {
            group: "g".into(),
            users_only: true,
        };
        let uri: Uri = "/beta/groups/g/transitiveMembers/microsoft.graph.user?$top=2&$select=id"
            .parse()
            .unwrap();
        let first = directory_answer(&dir, &path, &uri, "http://h/beta", 100)
            .ok()
            .unwrap();
        assert_eq!(first["value"].as_array().unwrap().len(), 2);
        let next = first["@odata.nextLink"].as_str().unwrap();
        assert!(
            next.starts_with(
                "http://h/beta/groups/g/transitiveMembers/microsoft.graph.user?$top=2&$skiptoken=2"
            ),
            "{next}"
        );
        let uri: Uri = "/x?$top=2&$skiptoken=4".parse().unwrap();
        let last = directory_answer(&dir, &path, &uri, "http://h/beta", 100)
            .ok()
            .unwrap();
        assert_eq!(last["value"][0]["userPrincipalName"], "u4@x.test");
        assert!(last.get("@odata.nextLink").is_none());
        let missing = DirPath::Members {
            group: "nope".into(),
            users_only: true,
        };
        let e = directory_answer(&dir, &missing, &uri, "http://h/beta", 100)
            .err()
            .unwrap();
        assert_eq!(e.status, StatusCode::NOT_FOUND);
        let uri: Uri = "/x?$filter=status%20eq%20%27x%27".parse().unwrap();
        assert!(directory_answer(&dir, &path, &uri, "http://h/beta", 100).is_err());
    }

    #[test]
    fn reject_bodies() {
        assert_eq!(
            check_reject_body(br#"{"approvalSource":"email","justification":"no"}"#)
                .ok()
                .as_deref(),
            Some("no")
        );
        for bad in [
            &br#"{"justification":"no"}"#[..],
            br#"{"justification":"no","approvalSource":"email","extra":1}"#,
            br#"{"justification":1,"approvalSource":"email"}"#,
            br#"{"justification":"no","approvalSource":"fax"}"#,
            br#"["justification"]"#,
            b"not json",
        ] {
            assert!(
                check_reject_body(bad).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        let long = format!(
            r#"{{"justification":"{}","approvalSource":"email"}}"#,
            "😀".repeat(513)
        );
        assert!(check_reject_body(long.as_bytes()).is_err());
        let fits = format!(
            r#"{{"justification":"{}","approvalSource":"email"}}"#,
            "😀".repeat(512)
        );
        assert!(check_reject_body(fits.as_bytes()).is_ok());
    }
}
