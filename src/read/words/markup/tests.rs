//! Tests of the markup scan: nesting, work and indentation estimates, comments, raw text, and
//! linear time on hostile markup.

use super::*;

#[test]
fn nesting_counts_only_what_stays_open() {
    assert_eq!(
        Shape::of("<div><p>a<br><img src=x><span></span></div>").max_depth,
        3
    );
    assert_eq!(Shape::of("<ul><li>a<li>b<li>c</ul>").max_depth, 2);
    assert_eq!(Shape::of("<b>x</b><i>y</i>").max_depth, 1);
    // An end tag that closes nothing does not close anything here either.
    assert_eq!(Shape::of(&"<div></x>".repeat(50)).max_depth, 50);
    // `<div/>` opens a div in HTML.
    assert_eq!(Shape::of(&"<div/>".repeat(30)).max_depth, 30);
    // Closing an outer element closes what is inside it.
    assert_eq!(Shape::of("<div><span><b>x</div><p>y").max_depth, 3);
}

#[test]
fn comments_and_non_elements_are_skipped() {
    assert_eq!(Shape::of("<!-- <div><div> -->").max_depth, 0);
    assert_eq!(
        Shape::of("<!--><div>").max_depth,
        1,
        "<!--> is a whole comment"
    );
    assert_eq!(Shape::of("<!---><div>").max_depth, 1);
    assert_eq!(Shape::of("<!-- x --!><div>").max_depth, 1);
    assert_eq!(Shape::of("<!doctype html><?xml x?>< 3 </ x>").max_depth, 0);
    assert_eq!(Shape::of("<!-- never closed <div>").max_depth, 0);
    // Script and style content is text: its "end tags" close nothing.
    let hidden = format!(
        "{}<script>{}</SCRIPT ><b>",
        "<div>".repeat(5),
        "</div>".repeat(5)
    );
    assert_eq!(Shape::of(&hidden).max_depth, 6);
    assert_eq!(Shape::of("<div><plaintext></div><div><div>").max_depth, 1);
}

#[test]
fn hostile_shapes_do_not_fit() {
    let fits = |html: &str| Shape::of(html).fits(html.len());
    assert!(!fits(&"<div></x>".repeat(5_000)));
    assert!(!fits(&"<div>".repeat(MAX_NESTING + 1)));
    let attrs: String = (0..6_000).map(|i| format!(" a{i}")).collect();
    assert!(!fits(&format!("<p{attrs}>x")));
    // Content inside a table but outside a cell is moved before it, one by one.
    assert!(!fits(&format!(
        "<table>{}</table>",
        "x<b>y</b>".repeat(5_000)
    )));
    // Deep lists: each item would be indented by the whole depth.
    let lists = format!("{}{}", "<ul>".repeat(100), "<li>x".repeat(2_000));
    assert!(!fits(&lists));
    // Without a `>` there is no tag at all.
    assert_eq!(Shape::of(&"<a".repeat(10_000)), Shape::default());
}

#[test]
fn ordinary_mail_fits() {
    let reply = "<html><body><div dir=ltr><p class=MsoNormal>No, <b>not</b> now.</p>\
                     <table><tr><td>Bob</td><td>IT</td></tr></table>\
                     <blockquote><div>quoted</div></blockquote></body></html>";
    let many = reply.repeat(500);
    let s = Shape::of(&many);
    assert!(s.fits(many.len()), "{s:?}");
    let deep = format!("{}x{}", "<div>".repeat(900), "</div>".repeat(900));
    assert!(Shape::of(&deep).fits(deep.len()));
    let lists = format!(
        "<ul><li>a<ul><li>b<ul><li>c</ul></ul>{}</ul>",
        "<li>x".repeat(200)
    );
    assert!(Shape::of(&lists).fits(lists.len()));
}
