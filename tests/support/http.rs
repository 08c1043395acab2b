//! A bare HTTP/1.0 GET against the bridge's `[metrics] listen` endpoint (`/metrics`, `/healthz`).

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// (status, body) of `GET path` on `127.0.0.1:port`, or `None` while nothing answers.
pub async fn get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .ok()?;
    s.write_all(format!("GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").as_bytes())
        .await
        .ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).await.ok()?;
    let status = out.split(' ').nth(1)?.parse().ok()?;
    let body = out.split_once("\r\n\r\n")?.1.to_string();
    Some((status, body))
}
