//! What is done to HTML as text, without a DOM: Outlook's paragraphs without margins rewritten
//! as lines before anything else reads the markup ([`paragraphs_as_lines`]), and the reading of
//! markup whose DOM would cost too much to build ([`strip_tags`]). Both are linear in the input.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::Regex;

/// Rewrites paragraphs that have no vertical margin as `<div>`s, so that each is one line of text
/// and not a paragraph between blank lines: Outlook for Windows writes every line the approver
/// typed as a `<p class=MsoNormal>` with `margin:0` (an empty line is a paragraph holding
/// `&nbsp;`), Outlook on the web writes `<p style="margin-top:0;margin-bottom:0">` or sets that for
/// every `P` in its style sheet. What the reader sees is then what the approver saw, line for line,
/// as in the text alternative Outlook itself writes.
pub(super) fn paragraphs_as_lines(html: &str) -> Cow<'_, str> {
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
pub(super) fn strip_tags(html: &str) -> String {
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
