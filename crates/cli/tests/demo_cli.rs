//! `qkv demo` and `qkv viz` run as a user runs them: every figure is written, decodes at the
//! promised size and is not blank; the numbers printed are the library's.

use qkv_notebook::{self as seed, SeedConfig};
use qkv_testkit::dirs::{model_dir, TempDir};
use qkv_testkit::figures::{check_png, check_svg};
use qkv_viz::{
    AttentionGrid, AttentionHeatmap, Figure, PeHeatmap, QueryAttentionLines, SeedFigureData,
    SixPanelFigure, SoftmaxScaling, TokenAcrossLayers,
};
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn qkv(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_qkv"))
        .args(args)
        .output()
        .expect("the qkv binary runs")
}

fn stdout_of(out: &Output) -> String {
    assert!(
        out.status.success(),
        "qkv failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

/// `dir/stem.png` decodes at `size` with real content; `dir/stem.svg` is an SVG document.
fn check_files(dir: &Path, stem: &str, size: (u32, u32)) {
    check_png(&dir.join(format!("{stem}.png")), size);
    check_svg(&dir.join(format!("{stem}.svg")), &[]);
}

/// The numbers inside the `[…]` on the line that starts (trimmed) with `prefix`.
fn list_after(text: &str, prefix: &str) -> Vec<f64> {
    let rest = text
        .lines()
        .find_map(|l| l.trim_start().strip_prefix(prefix))
        .unwrap_or_else(|| panic!("no line starting {prefix:?} in:\n{text}"));
    let inner = &rest[rest.find('[').unwrap() + 1..rest.find(']').unwrap()];
    inner
        .split([' ', ','])
        .filter(|t| !t.is_empty())
        .map(|t| t.parse().unwrap())
        .collect()
}

/// The number right after `key` on the line that starts (trimmed) with `line_start`.
fn number_after(text: &str, line_start: &str, key: &str) -> f64 {
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with(line_start))
        .unwrap_or_else(|| panic!("no line starting {line_start:?} in:\n{text}"));
    let rest = &line[line
        .find(key)
        .unwrap_or_else(|| panic!("{key:?} in {line:?}"))
        + key.len()..];
    let tok: String = rest
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_digit() || matches!(c, '.' | '-' | 'e'))
        .collect();
    tok.parse()
        .unwrap_or_else(|_| panic!("no number after {key:?} in {line:?}"))
}

/// Printed with `decimals` decimals: within half a unit of the last place.
fn printed(got: f64, want: f64, decimals: i32) -> bool {
    (got - want).abs() <= 0.5 * 10f64.powi(-decimals) + 1e-12
}

#[test]
fn demo_prints_the_library_numbers_and_writes_every_figure() {
    let tmp = TempDir::new("cli-demo");
    let dir = tmp.dir();
    // The binary and the library run side by side (each takes about a second).
    let child = Command::new(env!("CARGO_BIN_EXE_qkv"))
        .args(["demo", "--out", dir.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the qkv binary starts");
    let lib = seed::run(&SeedConfig::default()).unwrap();
    let out = stdout_of(&child.wait_with_output().unwrap());

    // Positional encoding rows, printed with 7 decimals (f32): the library's values, and the
    // notebook's PE[1, :8] (float64, 8 decimals) within rounding to 7 decimals (5e-8) plus f32
    // rounding (3e-8).
    let pe0 = list_after(&out, "PE[0, :8] =");
    let pe1 = list_after(&out, "PE[1, :8] =");
    assert_eq!(pe0, [0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0]);
    let notebook = [
        0.84147098, 0.54030231, 0.68156135, 0.73176098, 0.53316844, 0.84600911, 0.40930892,
        0.91239586,
    ];
    assert_eq!(pe1.len(), 8);
    for (i, ((&p, &l), &nb)) in pe1
        .iter()
        .zip(&lib.pe_row(1)[..8])
        .zip(&notebook)
        .enumerate()
    {
        assert!(printed(p, f64::from(l), 7), "PE[1, {i}]: {p} vs {l}");
        assert!(
            (p - nb).abs() < 1e-7,
            "PE[1, {i}]: {p} vs the notebook's {nb}"
        );
    }

    // Row sums (6 decimals): all 1.
    let sums = list_after(&out, "row sums (should be 1):");
    assert_eq!(sums.len(), 10);
    assert!(sums.iter().all(|&s| s == 1.0), "{sums:?}");
    // Head 1, query 0 of cell 3 (4 decimals).
    let h1 = list_after(&out, "head 1, query 0:");
    for (&p, &l) in h1.iter().zip(&lib.mha_head(0)[..10]) {
        assert!(printed(p, f64::from(l), 4), "{p} vs {l}");
    }
    // The causal encoder layer's first row: all weight on key 0.
    let causal0 = list_after(&out, "causal, head 1, query 0:");
    assert_eq!(causal0, [1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]);

    // LayerNorm statistics (4 decimals), the notebook's before values.
    let ln = &lib.layer_norm;
    assert!(printed(
        number_after(&out, "before:", "mean"),
        ln.before.mean,
        4
    ));
    assert!(printed(
        number_after(&out, "before:", "std"),
        ln.before.std,
        4
    ));
    assert_eq!(number_after(&out, "before:", "mean"), 5.3091);
    assert_eq!(number_after(&out, "before:", "std"), 9.8988);
    assert_eq!(number_after(&out, "after:", "mean"), 0.0);
    assert_eq!(number_after(&out, "after:", "std"), 1.0);

    // Scaling demo: ranges (2 decimals) and entropies (4 decimals), as the notebook printed.
    let sc = &lib.scaling;
    let unscaled = list_after(&out, "unscaled scores range:");
    let scaled = list_after(&out, "scaled scores range:");
    assert!(printed(unscaled[0], f64::from(sc.unscaled.min), 2));
    assert!(printed(unscaled[1], f64::from(sc.unscaled.max), 2));
    assert!(printed(scaled[0], f64::from(sc.scaled.min), 2));
    assert!(printed(scaled[1], f64::from(sc.scaled.max), 2));
    assert_eq!((unscaled[0], unscaled[1]), (-99.49, 41.97));
    assert_eq!((scaled[0], scaled[1]), (-24.87, 10.49));
    let e_unscaled = number_after(&out, "unscaled scores range:", "entropy");
    let e_scaled = number_after(&out, "scaled scores range:", "entropy");
    assert!(printed(e_unscaled, sc.unscaled.entropy, 4));
    assert!(printed(e_scaled, sc.scaled.entropy, 4));
    assert_eq!((e_unscaled, e_scaled), (0.1319, 0.2842));

    // The Var(q·k) table: one row per d_k = 4 … 1024.
    for v in &lib.dot_variance {
        let line = out
            .lines()
            .find(|l| l.split_whitespace().next() == Some(&v.d_k.to_string()))
            .unwrap_or_else(|| panic!("no Var row for d_k {}", v.d_k));
        let cols: Vec<f64> = line
            .split_whitespace()
            .map(|t| t.parse().unwrap())
            .collect();
        assert!(printed(cols[1], v.var, 3), "{line}");
        assert!(printed(cols[2], v.ratio(), 4), "{line}");
        assert!(printed(cols[3], v.var_scaled, 4), "{line}");
    }

    // Every figure, at the size its type promises.
    let data = SeedFigureData {
        pe: lib.pe.clone(),
        pe_positions: 50,
        pe_dims: 64,
        sinusoid_dims: seed::SINUSOID_DIMS.to_vec(),
        head_weights: lib.mha_per_head(),
        seq_len: 10,
        query: 0,
        softmax_x: lib.softmax_x.clone(),
        softmax_curves: lib.softmax_curves.clone(),
        causal_weights: lib.causal_weights.clone(),
    };
    let heatmap = AttentionHeatmap::new(&lib.causal_weights, 10, 10, None, None, "t")
        .unwrap()
        .size();
    let grid = AttentionGrid::new(&data.head_weights, 10, None, "t")
        .unwrap()
        .size();
    let expected = [
        (
            "transformer_basics",
            SixPanelFigure::new(&data).unwrap().size(),
        ),
        (
            "pe_heatmap",
            PeHeatmap::new(&lib.pe, 50, 64).unwrap().size(),
        ),
        ("attention_head1", heatmap),
        (
            "attention_query0",
            QueryAttentionLines::new(&data.head_weights, "t")
                .unwrap()
                .size(),
        ),
        (
            "softmax_scaling",
            SoftmaxScaling::new(&lib.softmax_x, &lib.softmax_curves)
                .unwrap()
                .size(),
        ),
        ("pe_sinusoids", (800, 600)),
        ("causal_attention", heatmap),
        ("encoder_heads", grid),
        ("encoder_heads_causal", grid),
    ];
    assert_eq!(expected[0].1, (1600, 1200));
    for (stem, size) in expected {
        check_files(dir, stem, size);
        assert!(
            out.contains(&format!("{stem}.png, {stem}.svg  {}×{}", size.0, size.1)),
            "{stem} not listed"
        );
    }
    let files = std::fs::read_dir(dir).unwrap().count();
    assert_eq!(
        files,
        2 * expected.len(),
        "unexpected files in {}",
        dir.display()
    );
}

#[test]
fn demo_reports_an_unwritable_output_directory() {
    let tmp = TempDir::new("cli-demo-bad");
    let dir = tmp.dir();
    let file = dir.join("not-a-dir");
    std::fs::write(&file, "x").unwrap();
    let out = qkv(&["demo", "--out", file.join("sub").to_str().unwrap()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("qkv: error: "), "{err}");
    assert!(err.contains("not-a-dir"), "{err}");
}

#[test]
fn viz_draws_a_real_model_with_token_labels() {
    let Some(model) = model_dir() else { return };
    let tmp = TempDir::new("cli-viz");
    let dir = tmp.dir();
    let text = "The cat sat on the mat.";
    let base = [
        "viz",
        "--model",
        model.to_str().unwrap(),
        "--text",
        text,
        "--out",
        dir.to_str().unwrap(),
    ];
    let out = stdout_of(&qkv(&base));
    // [CLS] the cat sat on the mat . [SEP]
    assert!(
        out.contains("0:[CLS] 1:the 2:cat 3:sat 4:on 5:the 6:mat 7:. 8:[SEP]"),
        "{out}"
    );
    let labels: Vec<String> = [
        "[CLS]", "the", "cat", "sat", "on", "the", "mat", ".", "[SEP]",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let heads = vec![vec![1.0 / 9.0; 81]; 12];
    let grid = AttentionGrid::new(&heads, 9, Some(&labels), "t")
        .unwrap()
        .size();
    check_files(dir, "layer1_heads", grid);
    let across = TokenAcrossLayers::new(&vec![vec![1.0 / 9.0; 9]; 6], Some(&labels), "t")
        .unwrap()
        .size();
    check_files(dir, "token0_across_layers", across);
    let svg = std::fs::read_to_string(dir.join("layer1_heads.svg")).unwrap();
    assert!(
        svg.contains("[CLS]") && svg.contains("mat"),
        "token labels missing"
    );

    let mut one = base.to_vec();
    one.extend(["--layer", "6", "--head", "3", "--token", "2"]);
    let out = stdout_of(&qkv(&one));
    let single = AttentionHeatmap::new(&heads[0], 9, 9, Some(&labels), Some(&labels), "t")
        .unwrap()
        .size();
    check_files(dir, "layer6_head3", single);
    check_files(dir, "token2_across_layers", across);
    assert!(out.contains("layer6_head3.png"), "{out}");

    let mut bad = base.to_vec();
    bad.extend(["--layer", "7"]);
    let res = qkv(&bad);
    assert!(!res.status.success());
    let err = String::from_utf8_lossy(&res.stderr);
    assert!(err.contains("--layer 7 is out of range"), "{err}");
}
