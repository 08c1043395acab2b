//! Tables read as text (SPEC §2: "table cells separated by spaces with no drawn borders"): every
//! `<table>` in a DOM is replaced, in place, by its content: the cells of a row one after the
//! other with a space between them, a line break after each row.
//!
//! html2text's own table layout is not used: it draws borders, pads every cell of a column to
//! the widest one (a table with one 100,000-character cell costs gigabytes at our render width),
//! and panics on some `colspan`/`rowspan` combinations (`<table><td colspan=2><td rowspan=2>`).
//! After this pass no table element is left for it to lay out.
//!
//! html5ever has already normalised the table (implied `<tbody>` and `<tr>`, closed cells).
//! Parts are flattened from the inside out, every node visited once: a cell becomes its content
//! and a space, a row its cells and a line break, a table a line break and its rows; so nested
//! tables, and rows or cells that quoted history cut out of their table, read the same way (html2text
//! panics on a table part outside a table).

use std::rc::Rc;

use html2text::{Element, Handle};

/// The nodes put between cells and after rows, and where quoted history was. They come from a tiny parsed document (the DOM
/// offers no constructor) and are shared: they render the same wherever they appear.
pub struct Separators {
    /// `<span> </span>`: a space between two cells.
    cell: Handle,
    /// `<br>`: the end of a row.
    row: Handle,
    /// `<div>&gt;</div>`: the line that stands where quoted history was taken out (see
    /// [`super::html`]).
    pub quote: Handle,
    /// The document they come from, kept alive: dropping a document empties the children of
    /// every node in it (the span's space included), even of nodes shared with another tree.
    _source: html2text::RcDom,
}

impl Separators {
    /// `None` only if html5ever stopped producing these two elements from their own markup.
    pub fn new() -> Option<Separators> {
        let dom = html2text::config::plain_no_decorate()
            .parse_html("<span> </span><br><div>&gt;</div>".as_bytes())
            .ok()?;
        let mut cell = None;
        let mut row = None;
        let mut quote = None;
        let mut stack = vec![dom.document.clone()];
        while let Some(node) = stack.pop() {
            match name(&node).as_deref() {
                Some("span") if cell.is_none() => cell = Some(node.clone()),
                Some("br") if row.is_none() => row = Some(node.clone()),
                Some("div") if quote.is_none() => quote = Some(node.clone()),
                _ => {}
            }
            stack.extend(node.children.borrow().iter().cloned());
        }
        Some(Separators {
            cell: cell?,
            row: row?,
            quote: quote?,
            _source: dom,
        })
    }
}

fn name(node: &Handle) -> Option<String> {
    match &node.data {
        Element { name, .. } => Some(name.local.to_string().to_ascii_lowercase()),
        _ => None,
    }
}

fn is(node: &Handle, names: &[&str]) -> bool {
    name(node).is_some_and(|n| names.contains(&n.as_str()))
}

/// Every element of a table's structure.
const TABLE_ELEMENTS: &[&str] = &[
    "table", "caption", "colgroup", "col", "thead", "tbody", "tfoot", "tr", "td", "th",
];

/// Replaces every table under `root` by its cells' content (see the module doc), and so every
/// part of one found on its own (a row or a cell cut out of its table with quoted history).
pub fn flatten(root: &Handle, seps: &Separators) {
    // Handled in reverse pre-order: every node comes after all of its descendants, so the parts
    // of a table are already flat when the table itself is replaced in its parent.
    for node in pre_order(root).iter().rev() {
        if !node.children.borrow().iter().any(|c| is(c, TABLE_ELEMENTS)) {
            continue;
        }
        let old = std::mem::take(&mut *node.children.borrow_mut());
        let mut new = Vec::with_capacity(old.len());
        for child in old {
            if is(&child, TABLE_ELEMENTS) {
                part_content(&child, seps, &mut new);
            } else {
                new.push(child);
            }
        }
        for child in &new {
            child.parent.set(Some(Rc::downgrade(node)));
        }
        *node.children.borrow_mut() = new;
    }
}

/// What stands for a part of a table in reading order. Its own parts are flat already: a
/// cell's content ends with a space, a row's (and a caption's) with a line break, a table
/// starts with one; column definitions are dropped.
fn part_content(part: &Handle, seps: &Separators, out: &mut Vec<Handle>) {
    let name = name(part).unwrap_or_default();
    match name.as_str() {
        "colgroup" | "col" => return,
        "table" => out.push(seps.row.clone()),
        _ => {}
    }
    // Taken, not copied: a node dropped with children empties them (html2text's DOM drops
    // iteratively), and these live on in the parent, as do the shared separators among them.
    out.extend(std::mem::take(&mut *part.children.borrow_mut()));
    match name.as_str() {
        "td" | "th" => out.push(seps.cell.clone()),
        "tr" | "caption" => out.push(seps.row.clone()),
        _ => {}
    }
}

/// Every node under `root` (itself included) in pre-order, without recursion (nesting is
/// unbounded in hostile mail). Walked in reverse, each node comes after all of its descendants.
pub fn pre_order(root: &Handle) -> Vec<Handle> {
    let mut order = Vec::new();
    let mut stack = vec![root.clone()];
    while let Some(node) = stack.pop() {
        stack.extend(node.children.borrow().iter().cloned());
        order.push(node);
    }
    order
}
