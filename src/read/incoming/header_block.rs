//! Scans of the raw header block, byte by byte, where reading it through the parser would be
//! wrong or too costly: whether another parser could read the block differently (SPEC §3 rule 4),
//! and the Message-ID the journal row needs before the message is read.

use crate::model::bare_message_id;

/// Why the header block of `raw` could be read differently by another parser, if it could
/// (SPEC §3 rule 4, "in both modes"): a bare CR, LF line ends mixed with CRLF, a line of only
/// white space before the empty line that ends the block, or white space between a field's name
/// and its colon (`From : …`). A block with LF line ends only (a message file on disk) is fine.
pub fn header_anomaly(raw: &[u8]) -> Option<String> {
    let (mut crlf, mut bare_lf) = (0usize, 0usize);
    let mut start = 0;
    let mut i = 0;
    while i < raw.len() {
        let (end, next) = match raw[i] {
            b'\r' if raw.get(i + 1) == Some(&b'\n') => {
                crlf += 1;
                (i, i + 2)
            }
            b'\r' => return Some("a bare CR in the header block".into()),
            b'\n' => {
                bare_lf += 1;
                (i, i + 1)
            }
            _ => {
                i += 1;
                continue;
            }
        };
        let line = &raw[start..end];
        if line.is_empty() {
            break;
        }
        if line.iter().all(|b| *b == b' ' || *b == b'\t') {
            return Some("a line of only white space inside the header block".into());
        }
        if !matches!(line[0], b' ' | b'\t')
            && let Some(colon) = line.iter().position(|b| *b == b':')
        {
            let name = &line[..colon];
            let trimmed = name.trim_ascii_end();
            if trimmed.len() < name.len()
                && !trimmed.is_empty()
                && !trimmed.iter().any(|b| b.is_ascii_whitespace())
            {
                let shown: String = String::from_utf8_lossy(trimmed).chars().take(40).collect();
                return Some(format!(
                    "white space before the colon of the header field {shown:?}"
                ));
            }
        }
        start = next;
        i = next;
    }
    (crlf > 0 && bare_lf > 0).then(|| "LF and CRLF line ends mixed in the header block".into())
}

/// How much of a message [`message_id_of`] looks at: header blocks are far smaller.
const MESSAGE_ID_SCAN: usize = 1024 * 1024;
/// RFC 5322's line limit: a longer Message-ID is no Message-ID.
const MAX_MESSAGE_ID: usize = 998;

/// The Message-ID field of `raw` (without `<>`), from a scan of at most the first MiB of its
/// header block: cheap and bounded, for the journal row that must exist before the message is
/// read (see [`crate::read::isolate`]). `None` when there is none or it is unusable.
pub fn message_id_of(raw: &[u8]) -> Option<String> {
    let head = &raw[..raw.len().min(MESSAGE_ID_SCAN)];
    let mut value: Option<Vec<u8>> = None;
    for line in head.split(|b| *b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if let Some(v) = value.as_mut() {
            if line.first().is_some_and(|b| *b == b' ' || *b == b'\t') {
                v.extend_from_slice(line);
                continue;
            }
            break;
        }
        if line.is_empty() {
            return None;
        }
        if line.len() >= 11 && line[..11].eq_ignore_ascii_case(b"message-id:") {
            value = Some(line[11..].to_vec());
        }
    }
    let value = String::from_utf8_lossy(&value?).into_owned();
    let value = value.trim();
    let id = match (value.find('<'), value.find('>')) {
        (Some(l), Some(r)) if l < r => value[l + 1..r].trim(),
        _ => bare_message_id(value),
    };
    (!id.is_empty() && id.len() <= MAX_MESSAGE_ID && !id.contains(char::is_whitespace))
        .then(|| id.to_string())
}
