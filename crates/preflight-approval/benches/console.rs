//! Benchmarks of the web console with 1 000 pending approvals:
//!
//! 1. the server: `GET /` over loopback, measured with criterion;
//! 2. the browser: the same page loaded and rendered in headless Chromium, measured with the
//!    page's own Navigation and Paint Timing (needs `PREFLIGHT_CHROMEDRIVER`, see
//!    `scripts/chromium.sh`; skipped with a message otherwise).
//!
//! `cargo bench -p preflight-approval --bench console`
// A benchmark harness: a failed setup should stop it loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../tests/common/browser.rs"]
mod browser;
#[path = "../tests/common/mod.rs"]
mod common;

use std::sync::Arc;
use std::time::Duration;

use criterion::Criterion;
use preflight_core::ApprovalStore;
use serde_json::{Value, json};

const PENDING: usize = 1000;
const BROWSER_RUNS: usize = 15;

async fn setup() -> String {
    let store: Arc<dyn ApprovalStore> = common::store();
    for n in 0..PENDING {
        let mut action = common::kiro_action();
        action.input["params"]["StackName"] = json!(format!("cost-explorer-{n}"));
        store
            .enqueue(&common::request(action, Duration::from_secs(3600)))
            .await
            .unwrap();
    }
    common::serve(&common::console(store)).await
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

async fn in_browser(base: &str) {
    let Some(browser) = browser::start().await else {
        println!("browser measurement skipped: PREFLIGHT_CHROMEDRIVER is not set");
        return;
    };
    browser.sign_in(base, common::ALICE.1).await;
    let mut samples: Vec<Vec<f64>> = Vec::new();
    for run in 0..=BROWSER_RUNS {
        browser.client.goto(&format!("{base}/")).await.unwrap();
        let timing = browser
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 requestAnimationFrame(() => requestAnimationFrame(() => {
                   const n = performance.getEntriesByType('navigation')[0];
                   const fcp = performance.getEntriesByName('first-contentful-paint')[0];
                   done([n.responseStart, n.responseEnd, n.domContentLoadedEventEnd,
                         fcp ? fcp.startTime : -1, n.loadEventEnd, performance.now(),
                         n.decodedBodySize,
                         document.querySelectorAll('article.card').length]);
                 }));",
                Vec::new(),
            )
            .await
            .unwrap();
        let values: Vec<f64> = match timing {
            Value::Array(items) => items.iter().map(|v| v.as_f64().unwrap_or(-1.0)).collect(),
            other => panic!("unexpected timing {other}"),
        };
        assert_eq!(
            values[7] as usize, PENDING,
            "the page did not show every request"
        );
        // The first load warms the cache (CSS, JS) and the connection.
        if run > 0 {
            samples.push(values);
        }
    }
    let column = |i: usize| median(&mut samples.iter().map(|s| s[i]).collect::<Vec<_>>());
    println!(
        "browser, {PENDING} pending, median of {BROWSER_RUNS} loads (ms from navigation start):\n\
         first byte {:.0}, HTML received {:.0}, DOMContentLoaded {:.0}, \
         first contentful paint {:.0}, load {:.0}, second frame after load {:.0}; HTML {:.0} KiB",
        column(0),
        column(1),
        column(2),
        column(3),
        column(4),
        column(5),
        column(6) / 1024.0
    );
    browser.finish().await;
}

fn main() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let base = runtime.block_on(setup());
    let client = reqwest::Client::new();
    let mut criterion = Criterion::default()
        .sample_size(20)
        .measurement_time(Duration::from_secs(8))
        .configure_from_args();
    criterion.bench_function("console GET / with 1000 pending (loopback)", |b| {
        b.to_async(&runtime).iter(|| async {
            let page = client
                .get(format!("{base}/"))
                .bearer_auth(common::ALICE.1)
                .send()
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap();
            let cards = page.windows(8).filter(|w| w == b"<article").count();
            assert_eq!(cards, PENDING);
            page.len()
        });
    });
    criterion.final_summary();
    runtime.block_on(in_browser(&base));
}
