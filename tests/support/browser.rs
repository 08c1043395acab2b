//! A real headless browser for the tests that need one: Debian's `chromium`, driven over
//! WebDriver through `chromedriver` (both installed by `scripts/stack-install.sh`) with
//! fantoccini. One private chromedriver per [`Browser`], on a free port, stopped on drop.

use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;

use super::stack::closed_port;

pub struct Browser {
    driver: Child,
    pub client: Client,
}

impl Browser {
    /// Starts chromedriver and a headless chromium session.
    pub async fn start() -> Browser {
        let port = closed_port();
        // Its own process group: chromium runs as chromedriver's children, and the whole group is
        // stopped on drop (killing chromedriver alone would leave the browsers running).
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .process_group(0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver runs (apt-get install chromium chromium-driver: scripts/stack-install.sh)");
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({"args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--incognito"]}),
        );
        let deadline = Instant::now() + Duration::from_secs(30);
        let client = loop {
            match ClientBuilder::new(HttpConnector::new())
                .capabilities(caps.clone())
                .connect(&format!("http://127.0.0.1:{port}"))
                .await
            {
                Ok(c) => break c,
                Err(e) if Instant::now() < deadline => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(e) => panic!("no WebDriver session with chromium: {e}"),
            }
        };
        Browser { driver, client }
    }

    /// Opens `url`.
    pub async fn open(&self, url: &str) {
        self.client.goto(url).await.expect("the page opens");
    }

    /// Types `text` into the field with id `id`, replacing what it held.
    pub async fn fill(&self, id: &str, text: &str) {
        let field = self
            .client
            .find(Locator::Id(id))
            .await
            .unwrap_or_else(|e| panic!("no #{id} on the page: {e}"));
        field.clear().await.expect("clear the field");
        field.send_keys(text).await.expect("type into the field");
    }

    /// Clicks the element with id `id`.
    pub async fn click(&self, id: &str) {
        self.client
            .find(Locator::Id(id))
            .await
            .unwrap_or_else(|e| panic!("no #{id} on the page: {e}"))
            .click()
            .await
            .expect("click");
    }

    /// The text of the page's first `h1` and the whole body text.
    pub async fn page(&self) -> (String, String) {
        let h1 = self
            .client
            .find(Locator::Css("h1"))
            .await
            .expect("a heading")
            .text()
            .await
            .unwrap_or_default();
        let body = self
            .client
            .find(Locator::Css("body"))
            .await
            .expect("a body")
            .text()
            .await
            .unwrap_or_default();
        (h1, body)
    }

    /// Waits (up to 15 s) until the browser has left the sign-in page: a form's submission
    /// navigates after the click has returned.
    pub async fn left_sign_in(&self) {
        let deadline = Instant::now() + Duration::from_secs(15);
        while self.url().await.contains("/oauth2/v2.0/authorize") {
            assert!(
                Instant::now() < deadline,
                "still on the sign-in page after 15 s"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn url(&self) -> String {
        self.client
            .current_url()
            .await
            .map(|u| u.to_string())
            .unwrap_or_default()
    }

    /// Forgets every cookie (a new person at the keyboard).
    pub async fn forget_cookies(&self) {
        let _ = self.client.delete_all_cookies().await;
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let group = format!("-{}", self.driver.id());
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
