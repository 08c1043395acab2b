//! Tests of the HTML reader: the history containers of each mail client, links, images, tables,
//! Outlook paragraphs, entities, and markup too deep for a DOM.

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
    let r =
        read_html("<style> P {margin-top:0;margin-bottom:0;} </style><p>a</p><p><br></p><p>b</p>");
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
