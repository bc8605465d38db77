//! Headless Chromium driven through chromedriver (WebDriver), for the end-to-end tests and the
//! benchmark. Needs `PREFLIGHT_CHROMEDRIVER` (printed by `scripts/chromium.sh`).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;

/// One chromedriver process with one Chromium session and a fresh profile.
pub struct Browser {
    pub client: Client,
    driver: Child,
    profile: PathBuf,
}

/// A program named by `variable`, or else found on `PATH` where `scripts/chromium.sh` installs
/// it: the variable only overrides.
pub fn program(variable: &str, name: &str) -> Option<String> {
    if let Ok(path) = std::env::var(variable) {
        return Some(path);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
        .map(|found| found.display().to_string())
}

/// chromedriver: `PREFLIGHT_CHROMEDRIVER`, or `chromedriver` on `PATH`.
pub fn chromedriver() -> Option<String> {
    program("PREFLIGHT_CHROMEDRIVER", "chromedriver")
}

/// Starts a browser, or explains what is missing. Returns `None` only when
/// `PREFLIGHT_SKIP_EXTERNAL=1` and chromedriver is not configured.
pub async fn start() -> Option<Browser> {
    let Some(driver) = chromedriver() else {
        if std::env::var("PREFLIGHT_SKIP_EXTERNAL").as_deref() == Ok("1") {
            eprintln!(
                "skipped: PREFLIGHT_CHROMEDRIVER is not set and PREFLIGHT_SKIP_EXTERNAL=1 \
                 (the headless Chromium tests did not run)"
            );
            return None;
        }
        panic!(
            "chromedriver is not on PATH and PREFLIGHT_CHROMEDRIVER is not set: run \
             `scripts/chromium.sh` (it installs Chromium and chromedriver), or set \
             PREFLIGHT_SKIP_EXTERNAL=1 to skip the browser tests"
        );
    };
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let child = Command::new(&driver)
        .arg(format!("--port={port}"))
        .arg("--allowed-ips=127.0.0.1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start chromedriver at {driver}: {e}"));
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "chromedriver did not listen on port {port}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let profile = std::env::temp_dir().join(format!(
        "preflight-chromium-{}-{}",
        std::process::id(),
        preflight_core::new_id()
    ));
    std::fs::create_dir_all(&profile).unwrap();
    let mut options = json!({
        "args": [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--window-size=1280,1000",
            format!("--user-data-dir={}", profile.display()),
        ]
    });
    if let Some(binary) = program("PREFLIGHT_CHROMIUM", "chromium") {
        options["binary"] = json!(binary);
    }
    let mut capabilities = serde_json::Map::new();
    capabilities.insert("goog:chromeOptions".into(), options);
    let client = ClientBuilder::new(HttpConnector::new())
        .capabilities(capabilities)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .unwrap_or_else(|e| panic!("chromedriver would not start Chromium: {e}"));
    Some(Browser {
        client,
        driver: child,
        profile,
    })
}

impl Browser {
    /// Signs in to the console at `base` with `token`.
    pub async fn sign_in(&self, base: &str, token: &str) {
        self.client.goto(&format!("{base}/")).await.unwrap();
        // Not signed in: the console sends the browser to the sign-in form.
        let field = self.wait_for("input[name=token]").await;
        field.send_keys(token).await.unwrap();
        self.client
            .find(Locator::Css("button[type=submit]"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        self.wait_for("#pending").await;
    }

    /// Waits up to 15 s for an element matching `css`.
    pub async fn wait_for(&self, css: &str) -> fantoccini::elements::Element {
        self.client
            .wait()
            .at_most(Duration::from_secs(15))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no element {css}: {e}"))
    }

    /// Waits up to 15 s until no element matches `css`.
    pub async fn wait_gone(&self, css: &str) {
        let deadline = Instant::now() + Duration::from_secs(15);
        while !self
            .client
            .find_all(Locator::Css(css))
            .await
            .unwrap()
            .is_empty()
        {
            assert!(Instant::now() < deadline, "{css} is still on the page");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Runs `script` in the page and returns its value.
    pub async fn eval(&self, script: &str) -> serde_json::Value {
        self.client.execute(script, Vec::new()).await.unwrap()
    }

    /// Ends the session and the driver.
    pub async fn finish(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}
