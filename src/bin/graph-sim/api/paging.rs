//! Collections a page at a time, as Graph pages them: the query options (`$top`, `$skiptoken`,
//! `$filter=status eq '…'` where allowed; `$select` and `$orderby` ignored; anything else a 400)
//! and the page with its `@odata.nextLink`.

use axum::http::Uri;
use serde_json::{Value, json};

use super::respond::{GraphFail, fail};
use super::route::percent_decode;

/// The paging and filter options of a collection GET.
pub(super) struct Query {
    pub(super) top: usize,
    pub(super) skip: usize,
    /// `$filter=status eq '…'` (request lists only).
    pub(super) status: Option<String>,
}

/// The query options of `uri`; `page_size` is the default page size and, as with Graph's own
/// caps, the largest one (`$top` may ask for fewer).
pub(super) fn query(uri: &Uri, page_size: usize, filterable: bool) -> Result<Query, GraphFail> {
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
pub(super) fn page(
    all: &[Value],
    q: &Query,
    context: String,
    link: String,
    link_extra: &str,
) -> Value {
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
