//! Temporary minimal reader (replaced by the full reader module).

pub struct ReadText {
    pub new_text: String,
    pub rest: String,
}

pub fn unflow(body: &str, _delsp: bool) -> String {
    body.to_string()
}

pub fn read_plain(body: &str) -> ReadText {
    let body = body.replace("\r\n", "\n");
    let mut new = Vec::new();
    let mut rest = Vec::new();
    let mut in_rest = false;
    for line in body.lines() {
        let t = line.trim();
        if !in_rest
            && (t == "--"
                || line == "-- "
                || (t.starts_with("On ") && t.ends_with("wrote:"))
                || t.starts_with("-----Original Message"))
        {
            in_rest = true;
        }
        if in_rest || t.starts_with('>') {
            rest.push(line);
        } else {
            new.push(line.trim_end());
        }
    }
    ReadText {
        new_text: new.join("\n").trim_matches('\n').to_string(),
        rest: rest.join("\n"),
    }
}

pub fn read_html(html: &str) -> ReadText {
    read_plain(&html2text::from_read(html.as_bytes(), 200).unwrap_or_default())
}
