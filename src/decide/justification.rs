//! The string sent to Graph as `justification` (SPEC §4): `graph.justification_template`
//! rendered with `text` (the approver's words) and `approver` (their address), at most
//! [`MAX_UTF16_UNITS`] UTF-16 code units as Graph counts them. Too long a text is cut at a
//! grapheme-cluster boundary (SPEC §2: never inside a letter with its accents, an emoji with its
//! skin tone or joiners, a flag) and ends with `…`; the caller is told so it can say it in the
//! confirmation.

use minijinja::{Environment, context};
use unicode_segmentation::UnicodeSegmentation;

/// Graph's limit on `justification`, in UTF-16 code units.
pub const MAX_UTF16_UNITS: usize = 1024;

const ELLIPSIS: char = '…';

/// The rendered justification and whether the approver's text had to be cut to fit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Justification {
    pub text: String,
    pub truncated: bool,
}

fn utf16_len(s: &str) -> usize {
    s.encode_utf16().count()
}

/// Compiles and test-renders a template; the error is a sentence for the config error line.
pub fn check_template(template: &str) -> Result<(), String> {
    render_raw(template, "sample text", "alice@example.test")
        .map(|_| ())
        .map_err(|e| format!("not a valid template: {e}"))
}

fn render_raw(template: &str, text: &str, approver: &str) -> Result<String, minijinja::Error> {
    let mut env = Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    env.add_template("justification", template)?;
    env.get_template("justification")?
        .render(context! { text => text, approver => approver })
}

/// Renders the justification for `text` by `approver`, cutting `text` until the result fits.
pub fn render(template: &str, text: &str, approver: &str) -> Result<Justification, String> {
    let full = render_raw(template, text, approver).map_err(|e| e.to_string())?;
    if utf16_len(&full) <= MAX_UTF16_UNITS {
        return Ok(Justification {
            text: full,
            truncated: false,
        });
    }
    // Cut the approver's text: the longest prefix (in whole grapheme clusters) whose rendering
    // fits.
    let boundaries: Vec<usize> = text.grapheme_indices(true).map(|(i, _)| i).collect();
    let fits = |n: usize| -> Option<String> {
        let mut cut = text[..boundaries.get(n).copied().unwrap_or(text.len())]
            .trim_end()
            .to_string();
        cut.push(ELLIPSIS);
        let rendered = render_raw(template, &cut, approver).ok()?;
        (utf16_len(&rendered) <= MAX_UTF16_UNITS).then_some(rendered)
    };
    let (mut lo, mut hi) = (0usize, boundaries.len());
    let mut best = None;
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        match fits(mid) {
            Some(r) => {
                best = Some(r);
                lo = mid;
            }
            None => hi = mid - 1,
        }
    }
    let rendered = match best.or_else(|| fits(lo)) {
        Some(r) => r,
        None => {
            // Even an empty text does not fit (a very long template): cut the rendering itself.
            let mut out = String::new();
            let mut units = 0;
            for g in full.graphemes(true) {
                let n = utf16_len(g);
                if units + n + 1 > MAX_UTF16_UNITS {
                    break;
                }
                units += n;
                out.push_str(g);
            }
            out.push(ELLIPSIS);
            out
        }
    };
    Ok(Justification {
        text: rendered,
        truncated: true,
    })
}

#[cfg(test)]
mod tests;
