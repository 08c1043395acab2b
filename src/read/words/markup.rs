//! A linear scan of HTML markup that says, before html5ever sees it, whether building a DOM for it
//! stays cheap: [`Shape::of`] estimates the work of html5ever's tree builder and tokenizer and
//! how much indentation html2text would write, so the reader can read hostile markup without a
//! DOM instead (see [`Shape::fits`]).
//!
//! Why an estimate is needed: html5ever's tree builder walks the stack of open elements for
//! most tags (scope checks such as "is a `<p>` open in button scope" before every block start
//! tag), so markup that keeps elements open (`<div></x>` repeated: an end tag that closes
//! nothing) costs time quadratic in its length. Content inside a table but outside its cells is
//! moved before the table one node at a time, each found by a walk over the growing list of the
//! table's siblings: quadratic too. Its tokenizer checks each new attribute of a tag
//! against all earlier ones, which is quadratic in the attributes of one tag. And html2text
//! indents nested list items, so deep lists with many items multiply the output. Real mail nests
//! a few dozen elements deep; the limits below are far above that and far below what hurts.
//!
//! The scan follows the tokenizer closely enough to never see fewer tags than html5ever does:
//! a tag runs to the next `>` (html5ever's runs at least as far: quotes can only extend it),
//! comments end at `-->` or `--!>` (including the short `<!-->`), and `<div/>` opens an element
//! as it does in HTML. Every `<` is looked at once and every tag is skipped in one step, so the
//! scan is linear in the input, even for `<a<a<a…` without any `>`.

use std::collections::HashMap;

/// More open elements than this and the DOM is not built.
pub const MAX_NESTING: usize = 1_000;
/// Estimated tree-builder and tokenizer steps (stack walks, attribute comparisons) above which
/// the DOM is not built: a few seconds of html5ever at worst, while ordinary mail (thousands of
/// tags a few dozen deep) stays below a tenth of it.
pub const MAX_WORK: u64 = 8_000_000;
/// Estimated bytes of list indentation html2text would write (depth × width of a bullet or a
/// number, per item) above which the DOM is not built: no more than the markup itself (or this
/// much, for short markup), so the text read out stays within a small multiple of the input.
pub const MIN_INDENT_BYTES: u64 = 64 * 1024;

/// Elements that never have content (never pushed on the stack of open elements).
const VOID: &[&str] = &[
    "area", "base", "basefont", "bgsound", "br", "col", "embed", "frame", "hr", "img", "input",
    "keygen", "link", "meta", "param", "source", "track", "wbr",
];
/// Elements a new start tag of the same name closes when it is the current one (`<li>` after an
/// open `<li>`, `<p>` after `<p>`, table cells and rows).
const SELF_CLOSING_SIBLINGS: &[&str] = &[
    "li", "p", "dd", "dt", "option", "optgroup", "tr", "td", "th", "rb", "rp", "rt", "rtc",
];
/// Formatting elements: html5ever re-opens them after a block closes ("reconstruct the active
/// formatting elements"), which costs a walk over the ones still active.
const FORMATTING: &[&str] = &[
    "a", "b", "big", "code", "em", "font", "i", "nobr", "s", "small", "strike", "strong", "tt", "u",
];
/// Elements that belong inside a table; any other element there is moved before the table.
const TABLE_PARTS: &[&str] = &[
    "caption", "colgroup", "col", "tbody", "thead", "tfoot", "tr", "td", "th", "table", "script",
    "style", "template", "form", "input",
];
/// Elements whose content is text, not markup, up to their own end tag.
const RAW_TEXT: &[&str] = &[
    "script",
    "style",
    "textarea",
    "title",
    "xmp",
    "iframe",
    "noembed",
    "noframes",
    "plaintext",
];
/// Elements whose items html2text indents.
const LISTS: &[&str] = &["ul", "ol", "dl", "menu", "dir"];
/// Items of those lists.
const ITEMS: &[&str] = &["li", "dd", "dt"];
/// The widest bullet or number html2text writes before an item, per level ("4294967295. ").
const BULLET_WIDTH: u64 = 24;

/// What [`Shape::of`] found.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Shape {
    /// The deepest nesting of open elements.
    pub max_depth: usize,
    /// Estimated tree-builder and tokenizer work.
    pub work: u64,
    /// Estimated bytes of list indentation in the rendered text.
    pub indent_bytes: u64,
}

impl Shape {
    /// Scans `html` once.
    pub fn of(html: &str) -> Shape {
        let mut builder = TreeBuilder::default();
        let bytes = html.as_bytes();
        let mut i = 0;
        while let Some(off) = memchr(b'<', &bytes[i..]) {
            let lt = i + off;
            builder.text(&html[i..lt]);
            let after = &html[lt + 1..];
            if after.starts_with("!--") {
                // A comment: from `<!--` to `-->` or `--!>`; `<!-->` and `<!--->` are complete.
                let body = &html[lt + 2..];
                match comment_end(body) {
                    Some(end) => {
                        i = lt + 2 + end;
                        continue;
                    }
                    None => break,
                }
            }
            let Some(gt_off) = memchr(b'>', after.as_bytes()) else {
                // An unterminated tag runs to the end of the input.
                break;
            };
            let tag = &after[..gt_off];
            i = lt + 1 + gt_off + 1;
            let Some((closing, name, attrs)) = element_tag(tag) else {
                continue;
            };
            if closing {
                builder.end_tag(&name);
                continue;
            }
            if builder.start_tag(&name, attrs) == Content::RawText {
                // Its content is text up to its own end tag (or the end of the input).
                match end_tag(&html[i..], &name) {
                    Some(end) => {
                        i += end;
                        continue;
                    }
                    None => break,
                }
            }
        }
        builder.shape
    }

    /// Whether a DOM may be built for markup of `len` bytes: nesting, work and indentation
    /// within limits.
    pub fn fits(&self, len: usize) -> bool {
        self.max_depth <= MAX_NESTING
            && self.work <= MAX_WORK
            && self.indent_bytes <= (len as u64).max(MIN_INDENT_BYTES)
    }
}

/// What comes after a start tag.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Content {
    /// Markup (or nothing: a void element).
    Markup,
    /// Text up to the element's own end tag (`<script>`, `<style>`, `<textarea>`, …).
    RawText,
}

/// The estimate of html5ever's tree building, tag by tag, as [`Shape::of`] meets them.
#[derive(Default)]
struct TreeBuilder {
    shape: Shape,
    open: OpenElements,
    active_formatting: u64,
    /// Nodes html5ever put before a table so far ("foster parenting"): each new one is
    /// inserted into the same list of siblings, found by a walk over it.
    fostered: u64,
}

impl TreeBuilder {
    /// Text between two tags: inside a table body, html5ever moves it before the table.
    fn text(&mut self, text: &str) {
        if self.open.in_table_body() && text.bytes().any(|b| !b.is_ascii_whitespace()) {
            self.shape.work += self.fostered;
            self.fostered += 1;
        }
    }

    /// An end tag: finding the element to close walks the stack; an end tag that closes
    /// nothing walks it all.
    fn end_tag(&mut self, name: &str) {
        let depth = self.open.depth() as u64;
        let popped = self.open.close(name);
        self.shape.work += depth.max(1);
        if popped && FORMATTING.contains(&name) {
            self.active_formatting = self.active_formatting.saturating_sub(1);
        }
    }

    /// A start tag with `attrs` attributes (at most). A raw-text element is not opened: its
    /// content is skipped by the caller, end tag included.
    fn start_tag(&mut self, name: &str, attrs: u64) -> Content {
        let depth = self.open.depth() as u64;
        if self.open.in_table_body() && !TABLE_PARTS.contains(&name) {
            self.shape.work += self.fostered;
            self.fostered += 1;
        }
        // Scope checks walk the stack; reconstructing formatting elements walks them too;
        // each new attribute is compared with the earlier ones.
        self.shape.work += depth + self.active_formatting + 1 + attrs * attrs / 2;
        if VOID.contains(&name) {
            return Content::Markup;
        }
        if RAW_TEXT.contains(&name) {
            return Content::RawText;
        }
        if ITEMS.contains(&name) {
            self.shape.indent_bytes += self.open.lists as u64 * BULLET_WIDTH;
        }
        if FORMATTING.contains(&name) {
            self.active_formatting += 1;
        }
        if SELF_CLOSING_SIBLINGS.contains(&name) && self.open.top() == Some(name) {
            self.open.close(name);
        }
        self.open.push(name.to_string());
        self.shape.max_depth = self.shape.max_depth.max(self.open.depth());
        Content::Markup
    }
}

/// The text of a tag between `<` and `>`: whether it is an end tag, the element's name in lower
/// case and (for a start tag) an estimate of its attributes. `None` for what is not an element
/// (`<!doctype>`, `<?…>`, `</ x>`, `< 3`).
fn element_tag(tag: &str) -> Option<(bool, String, u64)> {
    let (closing, rest) = match tag.strip_prefix('/') {
        Some(r) => (true, r),
        None => (false, tag),
    };
    let name_len = rest
        .bytes()
        .take_while(|b| b.is_ascii_alphanumeric())
        .count();
    if name_len == 0 || !rest.as_bytes()[0].is_ascii_alphabetic() {
        return None;
    }
    let name = rest[..name_len].to_ascii_lowercase();
    Some((closing, name, attribute_count(&rest[name_len..])))
}

/// The stack of open elements as far as names go, with a count per name so that an end tag
/// for an element that is not open is recognised without walking the stack.
#[derive(Default)]
struct OpenElements {
    stack: Vec<String>,
    counts: HashMap<String, usize>,
    /// Open list elements (for indentation).
    lists: usize,
}

impl OpenElements {
    fn depth(&self) -> usize {
        self.stack.len()
    }

    fn top(&self) -> Option<&str> {
        self.stack.last().map(String::as_str)
    }

    /// Inside a table but outside its cells: where html5ever moves content before the table.
    fn in_table_body(&self) -> bool {
        self.top()
            .is_some_and(|t| matches!(t, "table" | "tbody" | "thead" | "tfoot" | "tr"))
    }

    fn push(&mut self, name: String) {
        if LISTS.contains(&name.as_str()) {
            self.lists += 1;
        }
        *self.counts.entry(name.clone()).or_default() += 1;
        self.stack.push(name);
    }

    /// Pops up to and including the innermost open `name`; false (and nothing popped) when no
    /// such element is open. Each element is popped at most once, so all closes together are
    /// linear in the number of start tags.
    fn close(&mut self, name: &str) -> bool {
        if self.counts.get(name).copied().unwrap_or(0) == 0 {
            return false;
        }
        while let Some(top) = self.stack.pop() {
            if LISTS.contains(&top.as_str()) {
                self.lists -= 1;
            }
            if let Some(c) = self.counts.get_mut(&top) {
                *c -= 1;
            }
            if top == name {
                break;
            }
        }
        true
    }
}

/// Where a comment whose text starts at `body` (just after `<!`) ends: the offset just past its
/// `-->` or `--!>`. `body` starts with `--`, so `<!-->` (body `-->`) ends at once.
fn comment_end(body: &str) -> Option<usize> {
    let b = body.as_bytes();
    let mut from = 0;
    while let Some(off) = memchr(b'>', &b[from..]) {
        let gt = from + off;
        // `-->` needs two dashes before the `>`; `--!>` a bang between. The first two bytes are
        // the opening dashes, shared with `<!-->`.
        if gt >= 2 && &b[gt - 2..gt] == b"--" {
            return Some(gt + 1);
        }
        if gt >= 3 && &b[gt - 3..gt] == b"--!" && gt > 3 {
            return Some(gt + 1);
        }
        from = gt + 1;
    }
    None
}

/// The offset in `text` just past the end tag `</name …>` (any case), if there is one.
/// `plaintext` has none: everything after it is text.
fn end_tag(text: &str, name: &str) -> Option<usize> {
    if name == "plaintext" {
        return None;
    }
    let b = text.as_bytes();
    let mut from = 0;
    while let Some(off) = memchr(b'<', &b[from..]) {
        let lt = from + off;
        let candidate = &b[lt + 1..];
        if candidate.first() == Some(&b'/')
            && candidate.len() > name.len()
            && candidate[1..=name.len()].eq_ignore_ascii_case(name.as_bytes())
        {
            let after = lt + 2 + name.len();
            return memchr(b'>', &b[after..]).map(|gt| after + gt + 1);
        }
        from = lt + 1;
    }
    None
}

/// An upper estimate of the attributes in the text of a start tag after its name: each run of
/// non-space characters after a space may start one.
fn attribute_count(text: &str) -> u64 {
    let mut count = 0u64;
    let mut in_space = true;
    for b in text.bytes() {
        let space = b.is_ascii_whitespace() || b == b'/';
        if !space && in_space {
            count += 1;
        }
        in_space = space;
    }
    count
}

fn memchr(needle: u8, haystack: &[u8]) -> Option<usize> {
    haystack.iter().position(|&b| b == needle)
}

#[cfg(test)]
mod tests;
