//! The dashboard in a real browser: headless Chromium driven through
//! WebDriver (chromedriver + fantoccini). A mentor opens the cohort, clicks a
//! learner, and sees the study-time chart drawn; screenshots of both pages are
//! saved under the target directory (`tmp/browser/`).
//!
//! Needs `chromedriver` and `chromium` on PATH (`.ci/browser-deps` installs
//! Debian's). Without them the test fails when `CI` is set, and otherwise
//! skips with the reason printed.

mod common;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{ClientBuilder, Locator};

fn on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start_chromedriver(exe: &Path) -> (Driver, String) {
    let port = free_port();
    let child = Command::new(exe)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let driver = Driver(child);
    let url = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "chromedriver did not listen on {port}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    (driver, url)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mentor_clicks_from_the_cohort_to_a_learner_and_sees_the_chart() {
    let Some(chromedriver) = on_path("chromedriver") else {
        if std::env::var_os("CI").is_some() {
            panic!("chromedriver is not on PATH: .ci/browser-deps installs chromium and chromium-driver");
        }
        eprintln!("SKIPPED: chromedriver is not on PATH (apt-get install chromium chromium-driver, or run .ci/browser-deps); CI fails here instead");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let dbs = common::cohort(dir.path());
    let server = common::serve(dir.path(), &dbs, &[]);
    let (_driver, wd) = start_chromedriver(&chromedriver);

    let mut chrome = serde_json::json!({
        "args": ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1280,1100"]
    });
    if let Some(bin) = on_path("chromium") {
        chrome["binary"] = bin.display().to_string().into();
    }
    let mut caps = serde_json::Map::new();
    caps.insert("browserName".into(), "chrome".into());
    caps.insert("goog:chromeOptions".into(), chrome);
    let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&wd)
        .await
        .expect("a WebDriver session with headless Chromium");

    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser");
    std::fs::create_dir_all(&shots).unwrap();
    let result = async {
        client.goto(&format!("{}/", server.url)).await?;
        let table = client
            .wait()
            .for_element(Locator::Css("table#cohort"))
            .await?;
        assert!(table.text().await?.contains("carol"));
        std::fs::write(shots.join("cohort.png"), client.screenshot().await?).unwrap();

        client
            .find(Locator::LinkText("alice"))
            .await?
            .click()
            .await?;
        let chart = client.wait().for_element(Locator::Css("svg.chart")).await?;
        assert!(client
            .current_url()
            .await?
            .path()
            .ends_with("/learner/0/alice"));
        assert_eq!(client.title().await?, "alice: progress");
        let (_, _, w, h) = chart.rectangle().await?;
        assert!(w > 100.0 && h > 100.0, "the chart is laid out ({w}x{h})");
        let bars = client.find_all(Locator::Css("svg.chart rect.week")).await?;
        assert_eq!(bars.len(), 12, "twelve weeks");
        // This week's 2 hours: the tallest bar, actually drawn.
        let (_, _, bw, bh) = bars[11].rectangle().await?;
        assert!(
            bw > 1.0 && bh > 50.0,
            "this week's bar is drawn ({bw}x{bh})"
        );
        // The run's plot is served and decoded by the browser.
        client.find(Locator::Css("img.artifact")).await?;
        let natural = client
            .execute(
                "return document.querySelector('img.artifact').naturalWidth",
                vec![],
            )
            .await?;
        assert_eq!(
            natural,
            serde_json::json!(10),
            "loss.svg loaded and decoded"
        );
        let png = client.screenshot().await?;
        assert!(png.starts_with(b"\x89PNG"));
        std::fs::write(shots.join("learner.png"), png).unwrap();
        Ok::<_, fantoccini::error::CmdError>(())
    }
    .await;
    let _ = client.close().await;
    result.expect("the browser session");
    eprintln!("screenshots: {}", shots.display());
}
