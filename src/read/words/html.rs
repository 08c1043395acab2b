//! Reading an HTML-only reply: the history containers mail clients wrap quoted mail in are taken
//! out of the DOM (each leaves a `>` line behind, so that an attribution above it reads as one and
//! text below it is new again, as in a plain body), the rest is converted to text as a reader sees
//! it (SPEC §2: html2text with entities decoded, `<script>`/`<style>` dropped, paragraphs,
//! `<div>`, `<br>` and list items kept as lines; link text without its target, images without
//! their `alt` text, table cells separated by spaces and no drawn borders) and read like a plain
//! body. Link targets anywhere in the document go to `rest`, where the caller searches for
//! request IDs.
//!
//! History containers: `<blockquote>`, a `<div>` with a left border (webmail and Outlook quote
//! that way), the containers of Gmail, Yahoo, Thunderbird, Apple Mail, Proton and Zoho, and
//! Outlook's reply header with everything after it.
//!
//! The DOM walks are iterative, so deeply nested markup cannot overflow the stack here, and
//! everything is linear in the input: [`Shape`] decides beforehand whether html5ever may build
//! a DOM at all (else the markup is read without one: `without_dom.rs`, which also rewrites
//! Outlook's paragraphs as lines first), tables are flattened into text rather than
//! laid out by html2text ([`tables`]), and the rendered text is bounded.

use std::rc::Rc;

use html2text::{Element, Handle, RcDom};

use super::markup::Shape;
use super::{ReadText, plain::read_plain, tables};

mod without_dom;

use without_dom::{paragraphs_as_lines, strip_tags};

/// Render width: wide enough that html2text never wraps a paragraph the approver wrote. Nothing
/// is padded to this width: tables, the one construct html2text pads, are flattened first.
const WIDTH: usize = 100_000;

/// Classes of elements that hold quoted history (Gmail, Yahoo, Thunderbird, Apple, ProtonMail, Zoho).
const HISTORY_CLASSES: &[&str] = &[
    "gmail_quote",
    "gmail_quote_container",
    "gmail_attr",
    "gmail_extra",
    "yahoo_quoted",
    "moz-cite-prefix",
    "moz-forward-container",
    "protonmail_quote",
    "zmail_extra",
    "applemail-quote",
];
/// Ids (prefixes) of elements that hold an app footer ("Get Outlook for iOS").
const FOOTER_IDS: &[&str] = &["ms-outlook-mobile-signature", "ymail_android_signature"];
/// Ids (prefixes) of elements that start history in Outlook and Yahoo: they and everything after
/// them in the document are history.
const CUT_IDS: &[&str] = &[
    "divrplyfwdmsg",
    "appendonsend",
    "stopspelling",
    "olk_src_body_section",
    "yahoo_quoted",
    "mail-editor-reference-message-container",
];
/// Classes that likewise start history with everything after them.
const CUT_CLASSES: &[&str] = &[
    "outlookmessageheader",
    "ms-outlook-mobile-reference-message",
];

/// The rendered text of one DOM is cut at this many bytes: what the reader looks at is the
/// approver's first words and the request IDs near them, and every later stage (the journal,
/// the reply) keeps less. [`Shape`] keeps html2text from ever writing much more than this.
const MAX_TEXT_BYTES: usize = 8 * 1024 * 1024;

/// Splits an HTML-only body into the approver's new text and the removed rest.
///
/// Linear in the input: markup whose DOM would be costly to build (see `Shape`) is read
/// without one, tables are read as text by `tables::flatten` rather than laid out, and the
/// rendered text is bounded.
pub fn read_html(html: &str) -> ReadText {
    let html = &*paragraphs_as_lines(html);
    if !Shape::of(html).fits(html.len()) {
        return read_plain(&strip_tags(html));
    }
    let (Ok(dom), Some(seps)) = (
        html2text::config::plain_no_decorate().parse_html(html.as_bytes()),
        tables::Separators::new(),
    ) else {
        return read_plain(&strip_tags(html));
    };
    let hrefs = link_targets(&dom.document);
    let removed = prune(&dom.document, &seps);
    as_read(&dom.document);
    tables::flatten(&dom.document, &seps);
    let text = without_drawn_borders(&render(&dom).unwrap_or_default());

    // The removed history, read the same way (it is only searched for request IDs).
    let history = RcDom::default();
    history.document.children.borrow_mut().extend(removed);
    as_read(&history.document);
    tables::flatten(&history.document, &seps);
    let removed_text = render(&history).unwrap_or_default();

    let read = read_plain(&text);
    let mut rest = read.rest;
    for part in [removed_text, hrefs.join("\n")] {
        if !part.trim().is_empty() {
            if !rest.is_empty() {
                rest.push('\n');
            }
            rest.push_str(&part);
        }
    }
    ReadText {
        new_text: read.new_text,
        rest,
    }
}

fn render(dom: &RcDom) -> Option<String> {
    let config = html2text::config::plain_no_decorate();
    let tree = config.dom_to_render_tree(dom).ok()?;
    let mut text = config.render_to_string(tree, WIDTH).ok()?;
    if text.len() > MAX_TEXT_BYTES {
        let mut cut = MAX_TEXT_BYTES;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
    }
    Some(text)
}

/// The element's local name (lower case) and the lower-cased values of its `id`, `class` and
/// `style`.
fn element_info(node: &Handle) -> Option<(String, String, String, String)> {
    let Element { name, attrs, .. } = &node.data else {
        return None;
    };
    let mut id = String::new();
    let mut class = String::new();
    let mut style = String::new();
    for attr in attrs.borrow().iter() {
        match &*attr.name.local {
            "id" => id = attr.value.to_lowercase(),
            "class" => class = attr.value.to_lowercase(),
            "style" => style = attr.value.to_lowercase(),
            _ => {}
        }
    }
    Some((name.local.to_lowercase(), id, class, style))
}

/// A `style` that draws a left border: how webmail (Yahoo's and Zimbra's older HTML, Horde) and
/// Outlook ("border:none;border-left:solid blue 1.5pt") set quoted history apart.
fn has_left_border(style: &str) -> bool {
    style.split(';').any(|decl| {
        let Some((prop, value)) = decl.split_once(':') else {
            return false;
        };
        let (prop, value) = (prop.trim(), value.trim());
        (prop == "border-left" || prop == "border-left-style")
            && !value.is_empty()
            && !value.contains("none")
            && !value.contains("hidden")
            && !value.starts_with('0')
    })
}

/// Every `href` in the document, in document order.
fn link_targets(root: &Handle) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![root.clone()];
    while let Some(node) = stack.pop() {
        if let Element { attrs, .. } = &node.data {
            for attr in attrs.borrow().iter() {
                if &*attr.name.local == "href" && !attr.value.trim().is_empty() {
                    out.push(attr.value.to_string());
                }
            }
        }
        stack.extend(node.children.borrow().iter().rev().cloned());
    }
    out
}

enum Verdict {
    Keep,
    History,
    HistoryAndAfter,
}

fn verdict(node: &Handle) -> Verdict {
    let Some((tag, id, class, style)) = element_info(node) else {
        return Verdict::Keep;
    };
    let classes: Vec<&str> = class.split_whitespace().collect();
    if CUT_IDS.iter().any(|c| id.starts_with(c)) || classes.iter().any(|c| CUT_CLASSES.contains(c))
    {
        return Verdict::HistoryAndAfter;
    }
    if tag == "blockquote"
        || (tag == "div" && has_left_border(&style))
        || classes.iter().any(|c| HISTORY_CLASSES.contains(c))
        || FOOTER_IDS.iter().any(|f| id.starts_with(f))
    {
        return Verdict::History;
    }
    Verdict::Keep
}

/// Takes history out of the DOM and returns the removed nodes; a `>` line stands where each
/// piece of history was.
///
/// First the earliest Outlook/Yahoo "history starts here" element outside other history: it and
/// everything after it in document order (its later siblings, and the later siblings of each of
/// its ancestors) go. Then every history container that is left.
fn prune(root: &Handle, seps: &tables::Separators) -> Vec<Handle> {
    let mut removed: Vec<Handle> = Vec::new();
    if let Some(marker) = first_cut_marker(root) {
        let mut node = marker;
        let mut include_self = true;
        while let Some(parent) = node.get_parent() {
            let mut children = parent.children.borrow_mut();
            if let Some(pos) = children.iter().position(|c| Rc::ptr_eq(c, &node)) {
                let from = if include_self { pos } else { pos + 1 };
                removed.extend(children.drain(from..));
                if include_self {
                    children.push(seps.quote.clone());
                }
            }
            drop(children);
            include_self = false;
            node = parent;
        }
    }
    let mut stack = vec![root.clone()];
    while let Some(node) = stack.pop() {
        let mut children = node.children.borrow_mut();
        let mut keep = Vec::with_capacity(children.len());
        let mut after_history = false;
        for c in children.drain(..) {
            if Rc::ptr_eq(&c, &seps.quote) {
                keep.push(c);
            } else if matches!(verdict(&c), Verdict::History | Verdict::HistoryAndAfter) {
                removed.push(c);
                if !after_history {
                    keep.push(seps.quote.clone());
                }
                after_history = true;
            } else {
                stack.push(c.clone());
                keep.push(c);
                after_history = false;
            }
        }
        *children = keep;
    }
    removed
}

/// Links become their text (SPEC §2: link text, not the target; the targets are in `rest`
/// already) and images are dropped with their `alt` text. In place, every node visited once.
fn as_read(root: &Handle) {
    let is = |node: &Handle, wanted: &str| matches!(&node.data, Element { name, .. } if (*name.local).eq_ignore_ascii_case(wanted));
    // In reverse pre-order: a link's own content is done before the link.
    for node in tables::pre_order(root).iter().rev() {
        if !node
            .children
            .borrow()
            .iter()
            .any(|c| is(c, "a") || is(c, "img"))
        {
            continue;
        }
        let old = std::mem::take(&mut *node.children.borrow_mut());
        let mut new = Vec::with_capacity(old.len());
        for child in old {
            if is(&child, "a") {
                // Taken, not copied: a dropped node empties its children.
                new.extend(std::mem::take(&mut *child.children.borrow_mut()));
            } else if !is(&child, "img") {
                new.push(child);
            }
        }
        for child in &new {
            child.parent.set(Some(Rc::downgrade(node)));
        }
        *node.children.borrow_mut() = new;
    }
}

/// Box-drawing characters (U+2500-257F) drawn around text, as text-art signatures and tables
/// have them, are not text (SPEC §2: no drawn borders): a line of them only goes, and on a line
/// with text they become single spaces between its pieces.
fn without_drawn_borders(text: &str) -> String {
    let is_box = |c: char| ('\u{2500}'..='\u{257f}').contains(&c);
    if !text.contains(is_box) {
        return text.to_string();
    }
    text.split('\n')
        .filter_map(|line| {
            if !line.contains(is_box) {
                return Some(line.to_string());
            }
            let pieces: Vec<&str> = line
                .split(is_box)
                .map(str::trim)
                .filter(|piece| !piece.is_empty())
                .collect();
            (!pieces.is_empty()).then(|| pieces.join(" "))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The first element, in document order and outside history containers, after which everything is
/// history.
fn first_cut_marker(root: &Handle) -> Option<Handle> {
    let mut stack = vec![root.clone()];
    while let Some(node) = stack.pop() {
        match verdict(&node) {
            Verdict::HistoryAndAfter => return Some(node),
            Verdict::History => continue,
            Verdict::Keep => stack.extend(node.children.borrow().iter().rev().cloned()),
        }
    }
    None
}

#[cfg(test)]
mod tests;
