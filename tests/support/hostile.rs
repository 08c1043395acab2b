//! The hostile message shapes of issue 12, generated at any size: each once cost the reader time
//! or memory out of proportion to its size (or panicked). The regression tests read them at a
//! large size, the scaling benchmark at doubling sizes, the fuzz harness mixes them into its
//! messages, and the daemon test delivers them all to one mailbox.
//!
//! Used by tests (through `mod support`) and by the benchmarks (through `#[path]`), so it needs
//! nothing but std and the crate's own dependencies.

/// The request every generated message names in its subject.
pub const REQUEST_ID: &str = "6f1c2d3e-4a5b-4c6d-8e7f-90a1b2c3d4e5";

/// One hostile shape: a name and a body generator (`n` = how many times the hostile unit
/// repeats; the message grows linearly with `n`).
#[derive(Clone, Copy)]
pub struct ShapeGen {
    pub name: &'static str,
    /// `text/html` or `text/plain`, or `multipart` for a message that builds its own MIME.
    pub kind: Kind,
    pub body: fn(usize) -> String,
    /// A size that makes the message some hundreds of kilobytes.
    pub large: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Html,
    Plain,
    /// `body` returns the whole MIME body; the boundary is [`BOUNDARY`].
    Multipart,
}

pub const BOUNDARY: &str = "hostile-boundary";

pub const SHAPES: &[ShapeGen] = &[
    ShapeGen {
        name: "table_colspan_rowspan",
        kind: Kind::Html,
        body: |n| "<table><td colspan=2><td rowspan=2>".repeat(n),
        large: 3_000,
    },
    ShapeGen {
        name: "table_wide_cell",
        kind: Kind::Html,
        body: |n| {
            format!(
                "<p>Not now.</p><table><tr><td>a</td><td>{}</td></tr>{}</table>",
                "x".repeat(n * 10),
                "<tr><td>b</td><td>c</td></tr>".repeat(n / 50 + 1)
            )
        },
        large: 20_000,
    },
    ShapeGen {
        name: "div_unclosed_x",
        kind: Kind::Html,
        body: |n| "<div></x>".repeat(n),
        large: 100_000,
    },
    ShapeGen {
        name: "a_without_gt",
        kind: Kind::Html,
        body: |n| format!("<p>No.</p>{}", "<a".repeat(n)),
        large: 200_000,
    },
    ShapeGen {
        name: "attributes_in_one_tag",
        kind: Kind::Html,
        body: |n| {
            let attrs: String = (0..n).map(|i| format!(" a{i}=x")).collect();
            format!("<p{attrs}>No.</p>")
        },
        large: 40_000,
    },
    ShapeGen {
        name: "text_in_table_warnings",
        kind: Kind::Html,
        body: |n| format!("<table>{}</table>", "x<b>y</b>".repeat(n)),
        large: 80_000,
    },
    ShapeGen {
        name: "deep_nesting",
        kind: Kind::Html,
        body: |n| format!("{}No.{}", "<div>".repeat(n), "</div>".repeat(n)),
        large: 50_000,
    },
    ShapeGen {
        name: "deep_lists",
        kind: Kind::Html,
        body: |n| format!("{}{}", "<ul>".repeat(100), "<li>x".repeat(n)),
        large: 50_000,
    },
    ShapeGen {
        name: "inline_attribution",
        kind: Kind::Plain,
        body: |n| {
            format!(
                "No{} wrote:\n> quoted\n",
                " On Mon, 1 Jun 2026 at 10:00 x".repeat(n)
            )
        },
        large: 20_000,
    },
    ShapeGen {
        name: "long_lines_like_attributions",
        kind: Kind::Plain,
        body: |n| {
            format!(
                "No.\n{}",
                "On Mon, 1 Jun 2026 at 10:00, someone <a@b.test> wrote something long\n".repeat(n)
            )
        },
        large: 5_000,
    },
    ShapeGen {
        name: "many_request_ids",
        kind: Kind::Plain,
        body: |n| {
            (0..n)
                .map(|i| format!("{:08x}-0000-4000-8000-{:012x}\n", i, i))
                .collect()
        },
        large: 20_000,
    },
    ShapeGen {
        name: "many_mime_parts",
        kind: Kind::Multipart,
        body: |n| {
            let mut s = String::new();
            for i in 0..n {
                s.push_str(&format!(
                    "--{BOUNDARY}\r\nContent-Type: text/plain\r\n\r\npart {i}\r\n"
                ));
            }
            s.push_str(&format!("--{BOUNDARY}--\r\n"));
            s
        },
        large: 3_000,
    },
    ShapeGen {
        // Dashed titles with no header field below, bidi marks, short "sent" lines naming a
        // device with text below them, answers between long quoted lines: each is looked at
        // with what follows it.
        name: "titles_marks_and_footer_like_lines",
        kind: Kind::Plain,
        body: |n| {
            format!(
                "No.\n{}",
                concat!(
                    "\u{200f}----- not a title -----\u{200f}\n\n\n\n",
                    "gönderildi Galaxy here\ntext\n",
                    "> a quoted line that is long enough to have been wrapped by some client\n",
                    "Answer\n> q\n",
                )
                .repeat(n)
            )
        },
        large: 5_000,
    },
    ShapeGen {
        // Quote containers, links and images inside each other: each container leaves a `>`
        // line, each link its text.
        name: "links_images_and_quotes",
        kind: Kind::Html,
        body: |n| {
            format!(
                "<div>No.</div>{}",
                "<div>a <a href=\"https://x.test/\">b</a><img alt=\"c\" src=\"cid:d\"><blockquote>q</blockquote><div style=\"border-left:1px solid\">r</div></div>"
                    .repeat(n)
            )
        },
        large: 5_000,
    },
    ShapeGen {
        name: "many_references",
        kind: Kind::Plain,
        body: |_| "No.\n".into(),
        large: 20_000,
    },
];

/// The shape named `name`.
pub fn shape(name: &str) -> ShapeGen {
    *SHAPES
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no hostile shape {name}"))
}

/// A whole message around the shape's body at size `n`, from `from`, authenticated by
/// `mx.example.test` when `authenticated`, naming [`REQUEST_ID`] in its subject.
pub fn message(shape: &ShapeGen, n: usize, from: &str, to: &str, authenticated: bool) -> String {
    let domain = from.rsplit('@').next().unwrap_or("example.test");
    let mut head = String::new();
    if authenticated {
        head.push_str(&format!(
            "Authentication-Results: mx.example.test; dkim=pass header.d={domain}; dmarc=pass header.from={domain}\r\n"
        ));
    }
    head.push_str(&format!(
        "From: <{from}>\r\nTo: <{to}>\r\nSubject: Re: Approval needed ({REQUEST_ID})\r\n\
         Message-ID: <{}.{n}@client.example.test>\r\nDate: {}\r\nMIME-Version: 1.0\r\n",
        shape.name,
        httpdate::fmt_http_date(std::time::SystemTime::now())
    ));
    if shape.name == "many_references" {
        let refs: Vec<String> = (0..n).map(|i| format!("<r{i}@x.test>")).collect();
        head.push_str(&format!("References: {}\r\n", refs.join("\r\n ")));
    }
    let body = (shape.body)(n);
    let ctype = match shape.kind {
        Kind::Html => "text/html; charset=utf-8".to_string(),
        Kind::Plain => "text/plain; charset=utf-8".to_string(),
        Kind::Multipart => format!("multipart/mixed; boundary=\"{BOUNDARY}\""),
    };
    format!("{head}Content-Type: {ctype}\r\n\r\n{body}")
}
