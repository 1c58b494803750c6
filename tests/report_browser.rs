//! The HTML report as a person sees it (issue 7): each recorded example in
//! `testdata/examples/` is rendered by headless Chromium (Debian `chromium`, which
//! `scripts/test.sh` installs), which dumps the DOM after its script ran and takes a
//! 1280×1600 screenshot. The test checks that every metric's chart is in the rendered DOM
//! with a drawn line per side that has values, that the filter script ran, and that the
//! screenshot is not blank: it holds pixels of both the baseline and the canary colour.
//!
//! The screenshots stay in `target/tmp/report-browser/` (see `testdata/report/README.md`).
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Baseline and canary line colours of the report (`src/report/html/svg.rs`).
const BASELINE_RGB: [u8; 3] = [0x3b, 0x6f, 0xb6];
const CANARY_RGB: [u8; 3] = [0xe0, 0x7b, 0x00];
/// Per-channel distance to count a pixel as one of those colours (anti-aliasing).
const COLOUR_TOLERANCE: i32 = 24;
/// A drawn line (≈ 450 px long, 1.5 px wide) gives far more pixels than this; the
/// legend's key alone gives fewer.
const MIN_LINE_PIXELS: usize = 150;
/// Chromium gets this long per page before `timeout` ends it.
const CHROMIUM_TIMEOUT: &str = "90";

fn chromium() -> &'static str {
    let found = Command::new("chromium")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        found,
        "Debian `chromium` is needed for the report's browser test: \
         apt-get install --no-install-recommends chromium (scripts/test.sh installs it)"
    );
    "chromium"
}

/// Chromium's common flags: headless, no sandbox (root in CI), nothing from the network.
fn run_chromium(profile: &Path, extra: &[String], page: &Path) -> Vec<u8> {
    let output = Command::new("timeout")
        .arg(CHROMIUM_TIMEOUT)
        .arg(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "chromium {extra:?} on {}: {:?}\n{}",
        page.display(),
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

/// Start tags with their attributes and the text after them (as in tests/report.rs).
struct Tag {
    name: String,
    attrs: BTreeMap<String, String>,
    text: String,
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&nbsp;", "\u{a0}")
        .replace("&amp;", "&")
}

fn tags(html: &str) -> Vec<Tag> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        rest = &rest[open + 1..];
        let Some(close) = rest.find('>') else { break };
        let inner = &rest[..close];
        rest = &rest[close + 1..];
        if inner.starts_with('/') || inner.starts_with('!') {
            continue;
        }
        let inner = inner.trim_end_matches('/');
        let (name, mut attrs_text) = inner.split_at(inner.find(' ').unwrap_or(inner.len()));
        let mut attrs = BTreeMap::new();
        loop {
            attrs_text = attrs_text.trim_start();
            if attrs_text.is_empty() {
                break;
            }
            let (key, after) = match attrs_text.find(['=', ' ']) {
                Some(i) if attrs_text.as_bytes()[i] == b'=' => {
                    (&attrs_text[..i], &attrs_text[i + 1..])
                }
                // A bare attribute (`hidden`).
                Some(i) => {
                    attrs.insert(attrs_text[..i].to_string(), String::new());
                    attrs_text = &attrs_text[i..];
                    continue;
                }
                None => {
                    attrs.insert(attrs_text.to_string(), String::new());
                    break;
                }
            };
            let end = after[1..].find('"').unwrap();
            attrs.insert(key.to_string(), unescape(&after[1..1 + end]));
            attrs_text = &after[end + 2..];
        }
        if name == "style" || name == "script" {
            let end = rest.find(&format!("</{name}>")).unwrap();
            rest = &rest[end..];
        }
        let text_end = rest.find('<').unwrap_or(rest.len());
        out.push(Tag {
            name: name.to_string(),
            attrs,
            text: unescape(&rest[..text_end]),
        });
    }
    out
}

fn examples() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/examples");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("config.json").exists())
        .collect();
    dirs.sort();
    assert_eq!(dirs.len(), 8);
    dirs
}

/// Pixels within [`COLOUR_TOLERANCE`] of `rgb`, and the number of distinct colours.
fn colours(png_bytes: &[u8], rgb: [[u8; 3]; 2]) -> ([usize; 2], usize, (u32, u32)) {
    let decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let channels = info.color_type.samples();
    assert!(channels >= 3, "{:?}", info.color_type);
    let mut hits = [0; 2];
    let mut distinct = std::collections::BTreeSet::new();
    for px in buf[..info.buffer_size()].chunks(channels) {
        distinct.insert([px[0], px[1], px[2]]);
        for (k, c) in rgb.iter().enumerate() {
            if (0..3).all(|i| (i32::from(px[i]) - i32::from(c[i])).abs() <= COLOUR_TOLERANCE) {
                hits[k] += 1;
            }
        }
    }
    (hits, distinct.len(), (info.width, info.height))
}

#[test]
fn every_example_renders_its_charts_in_chromium() {
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("report-browser");
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out).unwrap();
    let profile = out.join("profile");
    for dir in examples() {
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        let page = out.join(format!("{name}.html"));
        let judged = Command::new(env!("CARGO_BIN_EXE_kanary"))
            .arg("judge")
            .arg(&dir)
            .args(["--format", "json", "--report"])
            .arg(&page)
            .output()
            .unwrap();
        assert!(matches!(judged.status.code(), Some(0 | 1 | 3)), "{name}");
        let result: kanary_scoring::CanaryJudgeResult =
            serde_json::from_slice(&judged.stdout).unwrap();
        let pairs: Vec<kanary_judge::MetricSetPair> =
            serde_json::from_str(&std::fs::read_to_string(dir.join("pairs.json")).unwrap())
                .unwrap();

        // The DOM after layout and the filter script.
        let dom = String::from_utf8(run_chromium(&profile, &["--dump-dom".into()], &page)).unwrap();
        let tags = tags(&dom);
        let count = tags
            .iter()
            .find(|t| t.attrs.get("id").map(String::as_str) == Some("f-count"))
            .unwrap();
        assert_eq!(
            count.text,
            format!("{} shown", result.results.len()),
            "{name}: the filter script ran"
        );
        for r in &result.results {
            let label = if r.tags.is_empty() {
                r.name.clone()
            } else {
                let t: Vec<String> = r.tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
                format!("{}{{{}}}", r.name, t.join(","))
            };
            let at = tags
                .iter()
                .position(|t| {
                    t.name == "svg"
                        && t.attrs.get("class").map(String::as_str) == Some("chart series")
                        && t.attrs.get("data-metric") == Some(&label)
                })
                .unwrap_or_else(|| panic!("{name}: no chart for {label}"));
            let pair = pairs
                .iter()
                .find(|p| p.name == r.name && p.tags == r.tags)
                .unwrap();
            for (side, values) in [
                ("baseline", &pair.values.control),
                ("canary", &pair.values.experiment),
            ] {
                let line = tags[at..]
                    .iter()
                    .find(|t| t.attrs.get("data-side").map(String::as_str) == Some(side))
                    .unwrap();
                let d = line.attrs.get("d").map(String::as_str).unwrap_or("");
                let has_values = values.iter().any(|v| v.is_finite());
                assert_eq!(
                    !d.is_empty(),
                    has_values,
                    "{name}/{label}: {side} line drawn iff it has values"
                );
                if has_values {
                    assert!(d.starts_with('M') && d.contains('L'), "{name}/{label}: {d}");
                }
            }
            // The distribution chart is next to it.
            assert!(
                tags[at..].iter().any(|t| t.name == "svg"
                    && t.attrs.get("class").map(String::as_str) == Some("chart boxes")
                    && t.attrs.get("data-metric") == Some(&label)),
                "{name}/{label}: box plots"
            );
        }

        // The picture: not blank, both series drawn.
        let shot = out.join(format!("{name}.png"));
        run_chromium(
            &profile,
            &[
                format!("--screenshot={}", shot.display()),
                "--window-size=1280,1600".into(),
            ],
            &page,
        );
        let bytes = std::fs::read(&shot).unwrap();
        let (hits, distinct, size) = colours(&bytes, [BASELINE_RGB, CANARY_RGB]);
        assert_eq!(size, (1280, 1600), "{name}");
        assert!(distinct > 50, "{name}: {distinct} colours: blank?");
        assert!(
            hits[0] >= MIN_LINE_PIXELS && hits[1] >= MIN_LINE_PIXELS,
            "{name}: baseline/canary pixels {hits:?} in {}",
            shot.display()
        );
    }
    eprintln!("screenshots: {}", out.display());
}
