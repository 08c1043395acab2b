//! Tables read as text (SPEC §2: "table cells separated by spaces with no drawn borders"): every
//! `<table>` in a DOM is replaced, in place, by its content: the cells of a row one after the
//! other with a space between them, a line break after each row.
//!
//! html2text's own table layout is not used: it draws borders, pads every cell of a column to
//! the widest one (a table with one 100,000-character cell costs gigabytes at our render width),
//! and panics on some `colspan`/`rowspan` combinations (`<table><td colspan=2><td rowspan=2>`).
//! After this pass no table element is left for it to lay out.
//!
//! html5ever has already normalised the table (implied `<tbody>` and `<tr>`, closed cells), so
//! the structure is always table → (caption | colgroup | thead | tbody | tfoot | tr)* → cells.
//! Every node is visited once; nested tables are flattened before the tables around them.

use std::rc::Rc;

use html2text::{Element, Handle};

/// The nodes put between cells and after rows. They come from a tiny parsed document (the DOM
/// offers no constructor) and are shared: they render the same wherever they appear.
pub struct Separators {
    /// `<span> </span>`: a space between two cells.
    cell: Handle,
    /// `<br>`: the end of a row.
    row: Handle,
    /// The document they come from, kept alive: dropping a document empties the children of
    /// every node in it (the span's space included), even of nodes shared with another tree.
    _source: html2text::RcDom,
}

impl Separators {
    /// `None` only if html5ever stopped producing these two elements from their own markup.
    pub fn new() -> Option<Separators> {
        let dom = html2text::config::plain_no_decorate()
            .parse_html("<span> </span><br>".as_bytes())
            .ok()?;
        let mut cell = None;
        let mut row = None;
        let mut stack = vec![dom.document.clone()];
        while let Some(node) = stack.pop() {
            match name(&node).as_deref() {
                Some("span") if cell.is_none() => cell = Some(node.clone()),
                Some("br") if row.is_none() => row = Some(node.clone()),
                _ => {}
            }
            stack.extend(node.children.borrow().iter().cloned());
        }
        Some(Separators {
            cell: cell?,
            row: row?,
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

/// Replaces every table under `root` by its cells' content (see the module doc).
pub fn flatten(root: &Handle, seps: &Separators) {
    // Pre-order, then handled in reverse: every node comes after all of its descendants, so a
    // table's cells are already flat when the table itself is replaced in its parent.
    let mut order = Vec::new();
    let mut stack = vec![root.clone()];
    while let Some(node) = stack.pop() {
        stack.extend(node.children.borrow().iter().cloned());
        order.push(node);
    }
    for node in order.iter().rev() {
        if !node.children.borrow().iter().any(|c| is(c, &["table"])) {
            continue;
        }
        let old = std::mem::take(&mut *node.children.borrow_mut());
        let mut new = Vec::with_capacity(old.len());
        for child in old {
            if is(&child, &["table"]) {
                new.extend(table_content(&child, seps));
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

/// A table's content in reading order: a line break, then per row its cells' children with a
/// space after each cell and a line break after the row. Anything else html5ever left in the
/// table (text, forms, scripts) stays where it was.
fn table_content(table: &Handle, seps: &Separators) -> Vec<Handle> {
    let mut out = vec![seps.row.clone()];
    for part in table.children.borrow().iter() {
        if is(part, &["thead", "tbody", "tfoot"]) {
            for row in part.children.borrow().iter() {
                row_content(row, seps, &mut out);
            }
        } else if is(part, &["colgroup", "col"]) {
            continue;
        } else {
            row_content(part, seps, &mut out);
        }
    }
    out
}

fn row_content(row: &Handle, seps: &Separators, out: &mut Vec<Handle>) {
    if is(row, &["tr"]) {
        for cell in row.children.borrow().iter() {
            if is(cell, &["td", "th"]) {
                out.extend(cell.children.borrow().iter().cloned());
                out.push(seps.cell.clone());
            } else {
                out.push(cell.clone());
            }
        }
        out.push(seps.row.clone());
    } else if is(row, &["caption"]) {
        out.extend(row.children.borrow().iter().cloned());
        out.push(seps.row.clone());
    } else {
        out.push(row.clone());
    }
}
