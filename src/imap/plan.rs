//! Partial fetches of big messages: which parts of a message above `imap.max_message_bytes` to
//! fetch (the tree of multiparts down to text parts that are not attachments), the FETCH items
//! for them, and the reassembly of what came back into a message a MIME parser reads like the
//! original.

use async_imap::imap_proto::{BodyStructure, ContentDisposition};

/// The section of a body part: its MIME header (`1.2.MIME`) or its content (`1.2`).
pub(super) fn path_section(path: &[u32], mime: bool) -> async_imap::imap_proto::SectionPath {
    use async_imap::imap_proto::{MessageSection, SectionPath};
    SectionPath::Part(path.to_vec(), mime.then_some(MessageSection::Mime))
}

fn path_text(path: &[u32]) -> String {
    path.iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(".")
}

/// The most FETCH items asked for at once for one big message (about 5 KB of command line).
const MAX_FETCH_ITEMS: usize = 200;

/// Which parts of a big message to keep: the tree of multiparts down to text parts that are not
/// attachments. Everything else (attachments, images, embedded messages) is left out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Plan {
    /// A multipart: its boundary and the kept children.
    Multi {
        path: Vec<u32>,
        boundary: String,
        children: Vec<Plan>,
    },
    /// A text part: its IMAP part number and size in octets.
    Text { path: Vec<u32>, octets: u64 },
    /// Nothing worth fetching.
    Skip,
}

#[derive(Default)]
pub(super) struct PartData {
    pub(super) mime: std::collections::HashMap<Vec<u32>, Vec<u8>>,
    pub(super) body: std::collections::HashMap<Vec<u32>, Vec<u8>>,
}

impl Plan {
    pub(super) fn of(structure: &BodyStructure<'_>) -> Plan {
        Self::node(structure, Vec::new())
    }

    fn node(structure: &BodyStructure<'_>, path: Vec<u32>) -> Plan {
        match structure {
            BodyStructure::Multipart { common, bodies, .. } => {
                let boundary = common
                    .ty
                    .params
                    .as_ref()
                    .and_then(|ps| {
                        ps.iter()
                            .find(|(k, _)| k.eq_ignore_ascii_case("boundary"))
                            .map(|(_, v)| v.to_string())
                    })
                    .unwrap_or_default();
                let children: Vec<Plan> = bodies
                    .iter()
                    .enumerate()
                    .map(|(i, b)| {
                        let mut child = path.clone();
                        child.push(i as u32 + 1);
                        Self::node(b, child)
                    })
                    .filter(|p| *p != Plan::Skip)
                    .collect();
                if boundary.is_empty() || children.is_empty() {
                    if path.is_empty() && !boundary.is_empty() {
                        return Plan::Multi {
                            path,
                            boundary,
                            children,
                        };
                    }
                    return Plan::Skip;
                }
                Plan::Multi {
                    path,
                    boundary,
                    children,
                }
            }
            BodyStructure::Text { common, other, .. } => {
                if is_attachment(common.disposition.as_ref()) {
                    return Plan::Skip;
                }
                // A single-part message's text is part 1.
                let path = if path.is_empty() { vec![1] } else { path };
                Plan::Text {
                    path,
                    octets: u64::from(other.octets),
                }
            }
            _ => Plan::Skip,
        }
    }

    /// Every part path whose MIME header or content is fetched.
    pub(super) fn paths(&self) -> Vec<Vec<u32>> {
        let mut out = Vec::new();
        self.collect_paths(&mut out);
        out
    }

    fn collect_paths(&self, out: &mut Vec<Vec<u32>>) {
        match self {
            Plan::Multi { path, children, .. } => {
                if !path.is_empty() {
                    out.push(path.clone());
                }
                for c in children {
                    c.collect_paths(out);
                }
            }
            Plan::Text { path, .. } => out.push(path.clone()),
            Plan::Skip => {}
        }
    }

    /// FETCH items: MIME headers of nested parts and text contents while `budget` lasts
    /// (a text part that does not fit is fetched partially), at most [`MAX_FETCH_ITEMS`] of
    /// them: a message of thousands of parts would make a FETCH command line servers refuse
    /// (and the approver's words are in the first parts). Parts left out read as empty.
    pub(super) fn fetch_items(&self, budget: u64) -> Vec<String> {
        let mut items = Vec::new();
        let mut left = budget;
        self.collect_items(&mut items, &mut left, true);
        items.truncate(MAX_FETCH_ITEMS);
        items
    }

    fn collect_items(&self, items: &mut Vec<String>, left: &mut u64, top: bool) {
        if items.len() >= MAX_FETCH_ITEMS {
            return;
        }
        match self {
            Plan::Multi { path, children, .. } => {
                if !top {
                    items.push(format!("BODY.PEEK[{}.MIME]", path_text(path)));
                }
                for c in children {
                    c.collect_items(items, left, false);
                }
            }
            Plan::Text { path, octets } => {
                if !top {
                    items.push(format!("BODY.PEEK[{}.MIME]", path_text(path)));
                }
                if *left == 0 {
                    return;
                }
                if *octets <= *left {
                    items.push(format!("BODY.PEEK[{}]", path_text(path)));
                    *left -= *octets;
                } else {
                    items.push(format!("BODY.PEEK[{}]<0.{}>", path_text(path), *left));
                    *left = 0;
                }
            }
            Plan::Skip => {}
        }
    }

    /// The reassembled message: the original header, then the kept parts in their multiparts.
    pub(super) fn assemble(&self, header: &[u8], parts: &PartData) -> Vec<u8> {
        let mut out = Vec::with_capacity(header.len() + 1024);
        out.extend_from_slice(header);
        if !header.ends_with(b"\r\n\r\n") && !header.ends_with(b"\n\n") {
            out.extend_from_slice(b"\r\n");
        }
        self.body_into(&mut out, parts);
        out
    }

    fn body_into(&self, out: &mut Vec<u8>, parts: &PartData) {
        match self {
            Plan::Multi {
                boundary, children, ..
            } => {
                for child in children {
                    out.extend_from_slice(format!("\r\n--{boundary}\r\n").as_bytes());
                    child.part_into(out, parts);
                }
                out.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
            }
            Plan::Text { path, .. } => {
                let body = parts.body.get(path).map(Vec::as_slice).unwrap_or_default();
                out.extend_from_slice(trim_partial(body));
            }
            Plan::Skip => {}
        }
    }

    /// A nested part: its MIME header, then its body.
    fn part_into(&self, out: &mut Vec<u8>, parts: &PartData) {
        let path = match self {
            Plan::Multi { path, .. } | Plan::Text { path, .. } => path,
            Plan::Skip => return,
        };
        match parts.mime.get(path) {
            Some(mime) => {
                out.extend_from_slice(mime);
                if !mime.ends_with(b"\r\n\r\n") && !mime.ends_with(b"\n\n") {
                    out.extend_from_slice(b"\r\n");
                }
            }
            None => out.extend_from_slice(b"\r\n"),
        }
        self.body_into(out, parts);
    }
}

/// A partially fetched text ends at its last complete line, so no encoded word is cut in half.
fn trim_partial(body: &[u8]) -> &[u8] {
    if body.ends_with(b"\n") {
        return body;
    }
    match body.iter().rposition(|&b| b == b'\n') {
        Some(i) => &body[..=i],
        None => body,
    }
}

fn is_attachment(disposition: Option<&ContentDisposition<'_>>) -> bool {
    disposition.is_some_and(|d| d.ty.eq_ignore_ascii_case("attachment"))
}

#[cfg(test)]
mod tests;
