//! Throughput of the reply reader on a typical reply: a short top-posted answer over a Gmail-style
//! attribution and quoted notification (plain), and the same as Outlook-style HTML.
//! `cargo bench --bench parse`

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use reject_bridge::read::words::{read_html, read_plain};
use std::hint::black_box;

fn plain_reply() -> String {
    let mut s = String::from(
        "Rejected: this wipe was not announced in the change board.\n\nThanks,\nBob\n\n",
    );
    s.push_str(
        "On Tue, Mar 3, 2020 at 9:14 AM Intune Multi Admin Approval <\nmma@corp.test> wrote:\n\n",
    );
    for i in 0..40 {
        s.push_str(&format!(
            "> Line {i} of the notification for request 3f2a9c4e-1b7d-4e8a-9f00-6c5d4b3a2e1f\n"
        ));
    }
    s.push_str("\n-- \nBob Smith\nIT Operations\n");
    s
}

fn html_reply() -> String {
    let mut s = String::from(
        "<html><head><style>p{margin:0}</style></head><body><div>Rejected: not announced.</div><div>Bob</div>\
         <div id=\"appendonsend\"></div><hr><div id=\"divRplyFwdMsg\"><b>From:</b> Intune<br><b>Sent:</b> Tuesday</div><div>",
    );
    for i in 0..40 {
        s.push_str(&format!("<p>Line {i} of the notification <a href=\"https://intune.test/r/3f2a9c4e-1b7d-4e8a-9f00-6c5d4b3a2e1f\">open</a></p>"));
    }
    s.push_str("</div></body></html>");
    s
}

fn bench(c: &mut Criterion) {
    let plain = plain_reply();
    let html = html_reply();
    let mut g = c.benchmark_group("reader");
    g.throughput(Throughput::Bytes(plain.len() as u64));
    g.bench_function("read_plain", |b| b.iter(|| read_plain(black_box(&plain))));
    g.throughput(Throughput::Bytes(html.len() as u64));
    g.bench_function("read_html", |b| b.iter(|| read_html(black_box(&html))));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
