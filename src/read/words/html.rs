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
//! a DOM at all (else the markup is read without one), tables are flattened into text rather than
//! laid out by html2text ([`tables`]), and the rendered text is bounded.

use std::borrow::Cow;
use std::rc::Rc;
use std::sync::LazyLock;

use html2text::{Element, Handle, RcDom};
use regex::Regex;

use super::markup::Shape;
use super::{ReadText, plain::read_plain, tables};

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
/// Linear in the input: markup whose DOM would be costly to build (see [`Shape`]) is read
/// without one, tables are read as text by [`tables::flatten`] rather than laid out, and the
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

/// Rewrites paragraphs that have no vertical margin as `<div>`s, so that each is one line of text
/// and not a paragraph between blank lines: Outlook for Windows writes every line the approver
/// typed as a `<p class=MsoNormal>` with `margin:0` (an empty line is a paragraph holding
/// `&nbsp;`), Outlook on the web writes `<p style="margin-top:0;margin-bottom:0">` or sets that for
/// every `P` in its style sheet. What the reader sees is then what the approver saw, line for line,
/// as in the text alternative Outlook itself writes.
fn paragraphs_as_lines(html: &str) -> Cow<'_, str> {
    static P_TAG: LazyLock<Regex> = LazyLock::new(|| re(r"(?i)<(/?)p(\s[^>]*)?>"));
    // `P {margin-top:0;margin-bottom:0;}` (OWA) or `p { margin: 0 }` in a style sheet.
    static SHEET: LazyLock<Regex> = LazyLock::new(|| {
        re(
            r"(?i)(?:^|[\s},>])p\s*\{[^}]*(?:margin-top\s*:\s*0(?:\.0+)?(?:[a-z]{2})?\s*;[^}]*margin-bottom\s*:\s*0(?:\.0+)?(?:[a-z]{2})?\s*[;}]|margin\s*:\s*0(?:\.0+)?(?:[a-z]{2})?\s*[;}])",
        )
    });
    static TOP: LazyLock<Regex> =
        LazyLock::new(|| re(r#"(?i)margin-top\s*:\s*0(?:\.0+)?(?:[a-z]{2})?\s*(?:[;"'!]|$)"#));
    static BOTTOM: LazyLock<Regex> =
        LazyLock::new(|| re(r#"(?i)margin-bottom\s*:\s*0(?:\.0+)?(?:[a-z]{2})?\s*(?:[;"'!]|$)"#));
    static MARGIN: LazyLock<Regex> = LazyLock::new(|| {
        re(r#"(?i)(?:^|[\s;"'])margin\s*:\s*0(?:\.0+)?(?:[a-z]{2})?\s*(?:[;"'!]|$)"#)
    });
    if !P_TAG.is_match(html) {
        return Cow::Borrowed(html);
    }
    let all_p = html
        .find("</style>")
        .or_else(|| html.find("</STYLE>"))
        .is_some_and(|end| SHEET.is_match(&html[..end]));
    let mut out = String::with_capacity(html.len());
    let mut last = 0;
    let mut open_line = false;
    for m in P_TAG.captures_iter(html) {
        let (Some(whole), closing) = (m.get(0), m.get(1).is_some_and(|c| !c.is_empty())) else {
            continue;
        };
        out.push_str(&html[last..whole.start()]);
        last = whole.end();
        if closing {
            out.push_str(if open_line { "</div>" } else { whole.as_str() });
            open_line = false;
            continue;
        }
        if open_line {
            // A new paragraph closes the open one.
            out.push_str("</div>");
        }
        let attrs = m.get(2).map_or("", |a| a.as_str());
        open_line = all_p
            || attrs.to_ascii_lowercase().contains("msonormal")
            || MARGIN.is_match(attrs)
            || (TOP.is_match(attrs) && BOTTOM.is_match(attrs));
        if open_line {
            out.push_str("<div");
            out.push_str(attrs);
            out.push('>');
        } else {
            out.push_str(whole.as_str());
        }
    }
    out.push_str(&html[last..]);
    Cow::Owned(out)
}

fn re(pattern: &str) -> Regex {
    // The patterns are constants of this file; the unit tests run every one of them.
    Regex::new(pattern).unwrap_or_else(|e| panic!("bad built-in pattern {pattern}: {e}"))
}

/// Text from markup without a DOM: for nesting too deep to build one (and input html5ever cannot
/// read, though it reads almost anything). Block elements and `<br>` end a line, `<style>`,
/// `<script>` and comments are dropped, common entities are decoded. Linear in the input.
fn strip_tags(html: &str) -> String {
    const BLOCKS: &[&str] = &[
        "br",
        "p",
        "div",
        "li",
        "tr",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "blockquote",
        "hr",
        "pre",
        "table",
        "ul",
        "ol",
        "dd",
        "dt",
    ];
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(lt) = rest.find('<') {
        out.push_str(&decode_entities(&rest[..lt]));
        rest = &rest[lt..];
        if let Some(after) = rest.strip_prefix("<!--") {
            rest = after.find("-->").map_or("", |e| &after[e + 3..]);
            continue;
        }
        let name: String = rest[1..]
            .trim_start_matches('/')
            .chars()
            .take_while(char::is_ascii_alphanumeric)
            .collect::<String>()
            .to_ascii_lowercase();
        let Some(gt) = rest.find('>') else {
            rest = "";
            break;
        };
        rest = &rest[gt + 1..];
        if name == "style" || name == "script" {
            static CLOSE_STYLE: LazyLock<Regex> = LazyLock::new(|| re(r"(?i)</style\s*>"));
            static CLOSE_SCRIPT: LazyLock<Regex> = LazyLock::new(|| re(r"(?i)</script\s*>"));
            let close = if name == "style" {
                &CLOSE_STYLE
            } else {
                &CLOSE_SCRIPT
            };
            rest = close.find(rest).map_or("", |m| &rest[m.end()..]);
            continue;
        }
        if BLOCKS.contains(&name.as_str()) {
            line_break(&mut out);
        }
    }
    out.push_str(&decode_entities(rest));
    out
}

/// Ends the current line, keeping at most one blank line between text (as a browser shows a run
/// of empty blocks).
fn line_break(out: &mut String) {
    // Trailing spaces go either way (a line's end is trimmed later), and going now means no
    // later break scans them again.
    let kept = out.trim_end_matches([' ', '\t']).len();
    out.truncate(kept);
    if !out.ends_with("\n\n") {
        out.push('\n');
    }
}

/// The character references mail HTML uses: named basics and numeric ones.
fn decode_entities(text: &str) -> Cow<'_, str> {
    static ENTITY: LazyLock<Regex> =
        LazyLock::new(|| re(r"&(?:#(\d{1,7})|#[xX]([0-9a-fA-F]{1,6})|([a-zA-Z]{2,6}));"));
    ENTITY.replace_all(text, |c: &regex::Captures<'_>| {
        let code = if let Some(d) = c.get(1) {
            d.as_str().parse().ok()
        } else if let Some(h) = c.get(2) {
            u32::from_str_radix(h.as_str(), 16).ok()
        } else {
            match c.get(3).map(|n| n.as_str()) {
                Some("nbsp") => Some(0xa0),
                Some("amp") => Some(0x26),
                Some("lt") => Some(0x3c),
                Some("gt") => Some(0x3e),
                Some("quot") => Some(0x22),
                Some("apos") => Some(0x27),
                _ => None,
            }
        };
        code.and_then(char::from_u32)
            .map_or_else(|| c[0].to_string(), |ch| ch.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const GUID: &str = "3f2a9c4e-1b7d-4e8a-9f00-6c5d4b3a2e1f";

    #[test]
    fn gmail_quote_is_history_and_links_reach_rest() {
        let html = format!(
            r#"<div dir="ltr">Rejected, not planned.</div><br>
            <div class="gmail_quote"><div dir="ltr" class="gmail_attr">On Tue, Mar 3, 2020 at 9:14 AM Intune &lt;mma@corp.test&gt; wrote:<br></div>
            <blockquote class="gmail_quote">Request <a href="https://intune.test/approve?id={GUID}">open</a></blockquote></div>"#
        );
        let r = read_html(&html);
        assert_eq!(r.new_text, "Rejected, not planned.");
        assert!(r.rest.contains(GUID), "{}", r.rest);
        assert!(r.rest.contains("wrote:"));
    }

    #[test]
    fn outlook_reply_header_and_everything_after_is_history() {
        let html = r#"<html><body><div><div>Nein, nicht genehmigt.</div>
            <div id="appendonsend"></div></div>
            <hr style="display:inline-block;width:98%">
            <div id="divRplyFwdMsg"><b>Von:</b> Intune<br><b>Gesendet:</b> Dienstag</div>
            <div>Bitte genehmigen Sie die Anfrage.</div></body></html>"#;
        let r = read_html(html);
        assert_eq!(r.new_text, "Nein, nicht genehmigt.");
        assert!(r.rest.contains("Bitte genehmigen"));
    }

    #[test]
    fn thunderbird_yahoo_and_blockquote_containers() {
        let r = read_html(
            r#"<p>Reject it</p><div class="moz-cite-prefix">On 03/03/2020 09:14, Intune wrote:<br></div>
            <blockquote type="cite">quoted request</blockquote>"#,
        );
        assert_eq!(r.new_text, "Reject it");
        let r = read_html(r#"<div>Nope</div><div class="yahoo_quoted"><div>old mail</div></div>"#);
        assert_eq!(r.new_text, "Nope");
        assert!(r.rest.contains("old mail"));
    }

    #[test]
    fn scripts_and_styles_never_leak_entities_decoded_lines_kept() {
        let r = read_html(
            "<head><title>t</title><style>p{color:red}</style></head><script>alert(1)</script>\
             <p>Fish &amp; chips &lt;3</p><p>two</p><ul><li>a</li><li>b</li></ul>line<br>break",
        );
        assert!(
            !r.new_text.contains("alert") && !r.new_text.contains("color"),
            "{}",
            r.new_text
        );
        let lines: Vec<&str> = r
            .new_text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        assert_eq!(lines[0], "Fish & chips <3");
        assert_eq!(lines[1], "two");
        assert!(
            lines[2].ends_with('a') && lines[3].ends_with('b'),
            "{lines:?}"
        );
        assert_eq!(&lines[4..], ["line", "break"]);
    }

    #[test]
    fn signature_and_app_footer_in_html() {
        let r = read_html("<p>Reject</p><p>-- <br>Bob Smith<br>IT</p>");
        assert_eq!(r.new_text, "Reject");
        let r = read_html("<div>Reject</div><div><br></div><div>Sent from my iPhone</div>");
        assert_eq!(r.new_text, "Reject");
    }

    #[test]
    fn margin_free_paragraphs_are_lines() {
        // Outlook for Windows: every line a MsoNormal paragraph, an empty line one holding &nbsp;.
        let r = read_html(
            r#"<p class="MsoNormal">Reject.<o:p></o:p></p><p class=MsoNormal><o:p>&nbsp;</o:p></p>
            <p class="MsoNormal">Thanks,<o:p></o:p></p><p class="MsoNormal">Bob<o:p></o:p></p>"#,
        );
        assert_eq!(r.new_text, "Reject.\n\nThanks,\nBob");
        // Outlook on the web: inline margins, or a style sheet rule for every P.
        let r = read_html(
            r#"<p style="margin-top:0px;margin-bottom:0px">a</p><p style="margin-top:0;margin-bottom:0">b</p>"#,
        );
        assert_eq!(r.new_text, "a\nb");
        let r = read_html(
            "<style> P {margin-top:0;margin-bottom:0;} </style><p>a</p><p><br></p><p>b</p>",
        );
        assert_eq!(r.new_text, "a\n\nb");
        // Ordinary paragraphs keep their blank line; unclosed ones are closed by the next.
        assert_eq!(read_html("<p>a</p><p>b</p>").new_text, "a\n\nb");
        assert_eq!(
            read_html(r#"<p class="MsoNormal">a<p class="MsoNormal">b"#).new_text,
            "a\nb"
        );
        assert_eq!(
            read_html(r#"<p style="margin:0cm">a</p><pre>x</pre><param>"#).new_text,
            "a\n\nx"
        );
    }

    #[test]
    fn outlook_mobile_footer_div_is_removed() {
        let r = read_html(
            r#"<div>No.</div><div id="ms-outlook-mobile-signature"><div><br></div>Get <a href="https://aka.ms/o0ukef">Outlook for iOS</a></div>"#,
        );
        assert_eq!(r.new_text, "No.");
    }

    #[test]
    fn table_parts_cut_out_of_their_table_are_read_as_text() {
        // Outlook's reply header inside a cell: the history cut takes the rest of the table's
        // cells and rows with it, outside any table (html2text panicked on them).
        let r = read_html(
            "<table><tr><td>No.<div id=divRplyFwdMsg>From: x</div></td><td rowspan=3>quoted one</td></tr>\
             <tr><th>quoted two</th></tr><caption>c</caption></table>",
        );
        assert_eq!(r.new_text, "No.");
        assert!(r.rest.contains("quoted one"), "{}", r.rest);
        assert!(r.rest.contains("quoted two"), "{}", r.rest);
        // Nested tables read as text too, one space between cells.
        let r = read_html(
            "<table><tr><td>a</td><td><table><tr><td>b</td><td>c</td></tr></table></td></tr></table>",
        );
        assert_eq!(r.new_text, "a\nb c");
    }

    #[test]
    fn read_as_a_reader_sees_it() {
        // Link text, not brackets or targets (they go to `rest`); no image alt text.
        let r = read_html(
            r#"<div>Call <a href="mailto:bob@x.test">bob@x.test</a>, see <a href="https://x.test/r/1">the request</a>.</div><div><img alt="[logo]" src="cid:1"> Bob</div>"#,
        );
        assert_eq!(r.new_text, "Call bob@x.test, see the request.\nBob");
        assert!(r.rest.contains("https://x.test/r/1"));
        // List items one per line.
        let r = read_html("<p>Reasons:</p><ul><li>in use</li><li>not planned</li></ul>");
        let lines: Vec<&str> = r.new_text.lines().collect();
        assert_eq!(lines.len(), 3, "{lines:?}");
        assert!(lines[1].ends_with("in use") && lines[2].ends_with("not planned"));
        // Borders drawn with box-drawing characters are not text.
        let r = read_html(
            "<div>Nein.</div><pre>\u{250c}\u{2500}\u{2500}\u{2500}\u{2510}\n\u{2502} Bob Smith \u{2502} IT \u{2502}\n\u{2514}\u{2500}\u{2500}\u{2500}\u{2518}</pre>",
        );
        assert_eq!(r.new_text, "Nein.\n\nBob Smith IT");
    }

    #[test]
    fn webmail_quotes_in_bordered_divs_and_quoting_attributions() {
        let r = read_html(
            r#"<div>Rejected, not ours.</div><div><br></div><div>Quoting Intune Approvals &lt;approvals@example.test&gt;:</div>
            <blockquote type="cite">Please approve</blockquote><div>Bob</div>"#,
        );
        assert_eq!(r.new_text, "Rejected, not ours.\n\nBob");
        assert!(r.rest.contains("Quoting"));
        let r = read_html(
            r#"<div>Nein.</div><div>Am 28.11.2026 um 10:00 schrieb Intune:</div><div style="border-left: 2px solid #1010FF; margin-left: 5px; padding-left: 5px;">Bitte genehmigen</div>"#,
        );
        assert_eq!(r.new_text, "Nein.");
        assert!(r.rest.contains("Bitte genehmigen"));
        // Outlook's indented reply with a left border.
        let r = read_html(
            r#"<p class=MsoNormal>No.</p><div style="border:none;border-left:solid #1F497D 1.5pt;padding:0cm 0cm 0cm 4.0pt"><p class=MsoNormal>quoted</p></div>"#,
        );
        assert_eq!(r.new_text, "No.");
        // A border that is none, or a top border, is not a quote.
        let r = read_html(
            r#"<div style="border-left:none">kept</div><div style="border-top:solid 1px">also kept</div>"#,
        );
        assert_eq!(r.new_text, "kept\nalso kept");
    }

    #[test]
    fn right_to_left_html_reply() {
        let r = read_html(
            "<div dir=\"rtl\">\u{5dc}\u{5d0} \u{5de}\u{5d0}\u{5e9}\u{5e8}.</div><div dir=\"rtl\"><br></div>\
             <div id=\"divRplyFwdMsg\" dir=\"rtl\"><b>\u{5de}\u{5d0}\u{5ea}:</b> Intune<br><b>\u{5e0}\u{5e9}\u{5dc}\u{5d7}:</b> x</div><div>old</div>",
        );
        assert_eq!(r.new_text, "\u{5dc}\u{5d0} \u{5de}\u{5d0}\u{5e9}\u{5e8}.");
    }

    #[test]
    fn empty_and_quote_only_html() {
        assert_eq!(read_html("").new_text, "");
        assert_eq!(
            read_html("<blockquote>only history</blockquote>").new_text,
            ""
        );
    }
}

#[cfg(test)]
mod deep {
    use super::*;

    #[test]
    fn deeply_nested_markup_does_not_overflow() {
        let depth = 200_000;
        let html = format!("{}Reject{}", "<div>".repeat(depth), "</div>".repeat(depth));
        let started = std::time::Instant::now();
        let r = read_html(&html);
        assert_eq!(r.new_text, "Reject");
        assert!(started.elapsed() < std::time::Duration::from_secs(10));
        let depth = 900;
        let html = format!(
            "<p>No</p>{}x{}",
            "<blockquote>".repeat(depth),
            "</blockquote>".repeat(depth)
        );
        assert_eq!(read_html(&html).new_text, "No");
        // Without a DOM, lines and entities still come out right.
        let html = format!(
            "<style>p{{x}}</style><!-- c --><p>Reject &amp; stop&nbsp;now</p><p>Bob &#8211; IT</p>{}",
            "<s>".repeat(2_000)
        );
        assert_eq!(
            read_html(&html).new_text,
            "Reject & stop\u{a0}now\n\nBob \u{2013} IT"
        );
    }
}
