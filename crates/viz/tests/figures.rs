//! Every figure writes a PNG that decodes at the promised size and is not blank, and an SVG that
//! carries its title as text; bad inputs give errors (and no file), never panics.

use qkv_testkit::dirs::TempDir;
use qkv_testkit::figures::{check_png, check_svg, grey_variance};
use qkv_viz::plotters::prelude::*;
use qkv_viz::{demo, Error, Figure, Format};
use std::path::Path;

/// Write `fig` as PNG and SVG under `dir/stem`, check both.
fn check_figure<F: Figure>(fig: &F, dir: &Path, stem: &str, texts: &[&str]) {
    let [png_path, svg_path] = fig.write_png_and_svg(dir.join(stem)).unwrap();
    check_png(&png_path, fig.size());
    check_svg(&svg_path, texts);
}

fn tokens() -> Vec<String> {
    [
        "[CLS]", "the", "river", "bank", "was", "flood", "##ed", "銀行", "é", "[SEP]",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

#[test]
fn pe_heatmap_and_sinusoids() {
    let tmp = TempDir::new("viz-pe");
    let dir = tmp.dir();
    let pe = demo::positional_encoding(50, 64);
    let heat = qkv_viz::PeHeatmap::new(&pe, 50, 64).unwrap();
    check_figure(
        &heat,
        dir,
        "pe",
        &["Positional Encoding", "Position", "Dimension"],
    );
    let sin = qkv_viz::PeSinusoids::new(&pe, 50, 64, &[0, 4, 8, 16, 32]).unwrap();
    check_figure(
        &sin,
        dir,
        "sin",
        &["Positional Encoding Sinusoids", "dim 0", "dim 32"],
    );
    // The free-function forms write the same figures.
    qkv_viz::write_pe_heatmap(dir.join("pe2.png"), &pe, 50, 64).unwrap();
    check_png(&dir.join("pe2.png"), (800, 600));
    qkv_viz::write_pe_sinusoids(dir.join("sin2.svg"), &pe, 50, 64, &[1]).unwrap();
    check_svg(&dir.join("sin2.svg"), &["dim 1"]);
}

#[test]
fn attention_heatmaps_with_and_without_tokens() {
    let tmp = TempDir::new("viz-attn");
    let dir = tmp.dir();
    let d = demo::seed_figure_data(7);
    let n = d.seq_len;
    let plain =
        qkv_viz::AttentionHeatmap::new(&d.head_weights[0], n, n, None, None, "Head 1").unwrap();
    check_figure(
        &plain,
        dir,
        "plain",
        &["Head 1", "Key Position", "Query Position"],
    );

    let labels = tokens();
    let labelled = qkv_viz::AttentionHeatmap::new(
        &d.head_weights[1],
        n,
        n,
        Some(&labels),
        Some(&labels),
        "Layer 3, head 2",
    )
    .unwrap();
    check_figure(
        &labelled,
        dir,
        "tokens",
        &["Layer 3, head 2", "[CLS]", "##ed", "銀行"],
    );

    qkv_viz::write_attention_heatmap(
        dir.join("causal.png"),
        &d.causal_weights,
        n,
        n,
        None,
        None,
        "Causal (masked) attention",
    )
    .unwrap();
    check_png(&dir.join("causal.png"), (700, 600));
}

#[test]
fn long_sequences_rotate_and_thin_their_labels() {
    let tmp = TempDir::new("viz-long");
    let dir = tmp.dir();
    let n = 96;
    let labels: Vec<String> = (0..n).map(|i| format!("tok{i}")).collect();
    let w: Vec<f32> = (0..n * n).map(|i| ((i * 31) % 97) as f32 / 97.0).collect();
    let fig = qkv_viz::AttentionHeatmap::new(&w, n, n, Some(&labels), Some(&labels), "Long")
        .unwrap()
        .range(0.0, 1.0)
        .unwrap();
    check_figure(&fig, dir, "long", &["Long", "tok0"]);
}

#[test]
fn line_figures() {
    let tmp = TempDir::new("viz-lines");
    let dir = tmp.dir();
    let d = demo::seed_figure_data(3);
    let rows: Vec<Vec<f32>> = d
        .head_weights
        .iter()
        .map(|w| w[..d.seq_len].to_vec())
        .collect();
    let lines = qkv_viz::QueryAttentionLines::new(&rows, "Attention Distribution").unwrap();
    check_figure(
        &lines,
        dir,
        "lines",
        &["Attention Distribution", "Head 1", "Head 4"],
    );
    let soft = qkv_viz::SoftmaxScaling::new(&d.softmax_x, &d.softmax_curves).unwrap();
    check_figure(
        &soft,
        dir,
        "softmax",
        &["Effect of Scaling on Softmax", "scale=0.5", "scale=4.0"],
    );
    qkv_viz::write_query_attention_lines(dir.join("l.png"), &rows, "t").unwrap();
    qkv_viz::write_softmax_scaling(dir.join("s.png"), &d.softmax_x, &d.softmax_curves).unwrap();
    check_png(&dir.join("l.png"), (800, 600));
    check_png(&dir.join("s.png"), (800, 600));
}

#[test]
fn grid_and_layers() {
    let tmp = TempDir::new("viz-grid");
    let dir = tmp.dir();
    let labels = tokens();
    let n = labels.len();
    // Twelve heads (BERT-base) of softmax rows.
    let heads: Vec<Vec<f32>> = (0..12)
        .map(|h| {
            (0..n * n)
                .map(|i| ((i * 7 + h * 13) % 17) as f32 + 1.0)
                .collect::<Vec<f32>>()
                .chunks(n)
                .flat_map(|row| {
                    let s: f32 = row.iter().sum();
                    row.iter().map(move |v| v / s).collect::<Vec<_>>()
                })
                .collect()
        })
        .collect();
    let grid = qkv_viz::AttentionGrid::new(&heads, n, Some(&labels), "Layer 1").unwrap();
    assert_eq!(grid.size(), (4 * 420 + 90, 3 * 420 + 44));
    check_figure(
        &grid,
        dir,
        "grid",
        &["Layer 1", "Head 1", "Head 12", "river"],
    );

    let per_layer: Vec<Vec<f32>> = heads.iter().map(|w| w[3 * n..4 * n].to_vec()).collect();
    let across =
        qkv_viz::TokenAcrossLayers::new(&per_layer, Some(&labels), "Query \"bank\"").unwrap();
    check_figure(&across, dir, "layers", &["Layer 12", "bank"]);
    qkv_viz::write_token_across_layers(dir.join("x.png"), &per_layer, None, "t").unwrap();
    qkv_viz::write_attention_grid(dir.join("g.png"), &heads[..6], n, None, "t").unwrap();
    check_png(&dir.join("g.png"), (3 * 420 + 90, 2 * 420 + 44));
}

#[test]
fn six_panel_figure_png_and_svg() {
    let tmp = TempDir::new("viz-six");
    let dir = tmp.dir();
    let d = demo::seed_figure_data(42);
    qkv_viz::six_panel_figure(&d, dir.join("six.png")).unwrap();
    check_png(&dir.join("six.png"), (1600, 1200));
    qkv_viz::six_panel_figure(&d, dir.join("six.SVG")).unwrap();
    check_svg(
        &dir.join("six.SVG"),
        &[
            "Positional Encoding",
            "Attention Weights (Head 1)",
            "Attention Distribution (Query pos 0)",
            "Effect of Scaling on Softmax",
            "Positional Encoding Sinusoids",
            "Causal (Masked) Attention",
        ],
    );
}

#[test]
fn panels_compose_into_a_caller_grid() {
    let d = demo::seed_figure_data(1);
    let mut buf = vec![255u8; 1000 * 400 * 3];
    {
        let root = BitMapBackend::with_buffer(&mut buf, (1000, 400)).into_drawing_area();
        let cells = root.split_evenly((1, 2));
        qkv_viz::pe_heatmap(&cells[0], &d.pe, d.pe_positions, d.pe_dims).unwrap();
        qkv_viz::softmax_scaling(&cells[1], &d.softmax_x, &d.softmax_curves).unwrap();
        root.present().unwrap();
    }
    assert!(grey_variance(&buf) > 200.0);
    // In-memory rendering through the Figure trait.
    let fig = qkv_viz::SoftmaxScaling::new(&d.softmax_x, &d.softmax_curves).unwrap();
    let bytes = fig.render_png((300, 200)).unwrap();
    assert_eq!(&bytes[1..4], b"PNG");
    assert!(fig.render_svg((300, 200)).unwrap().contains("<svg"));
}

#[test]
fn bad_inputs_are_errors_not_panics() {
    let tmp = TempDir::new("viz-errors");
    let dir = tmp.dir();
    let pe = demo::positional_encoding(5, 4);
    let out = dir.join("never.png");

    let e = qkv_viz::write_pe_heatmap(&out, &pe, 5, 5).unwrap_err();
    assert!(
        matches!(
            e,
            Error::Shape {
                expected: 25,
                found: 20,
                ..
            }
        ),
        "{e}"
    );
    assert!(qkv_viz::PeHeatmap::new(&[], 0, 4).is_err());
    let e = qkv_viz::PeSinusoids::new(&pe, 5, 4, &[4]).unwrap_err();
    assert!(e.to_string().contains("dimension 4 is out of range"), "{e}");
    assert!(qkv_viz::PeSinusoids::new(&pe, 5, 4, &[]).is_err());

    let w = vec![0.25f32; 16];
    let three: Vec<String> = vec!["a".into(), "b".into(), "c".into()];
    assert!(qkv_viz::AttentionHeatmap::new(&w, 4, 4, Some(&three), None, "t").is_err());
    assert!(qkv_viz::AttentionHeatmap::new(&w, 4, 4, None, Some(&three), "t").is_err());
    assert!(qkv_viz::AttentionHeatmap::new(&w, 3, 4, None, None, "t").is_err());
    assert!(qkv_viz::AttentionHeatmap::new(&w, 4, 4, None, None, "t")
        .unwrap()
        .range(1.0, 0.0)
        .is_err());
    let mut nan = w.clone();
    nan[5] = f32::NAN;
    let e = qkv_viz::AttentionHeatmap::new(&nan, 4, 4, None, None, "t").unwrap_err();
    assert!(matches!(e, Error::NonFinite { index: 5, .. }), "{e}");

    let ragged = vec![vec![0.5f32, 0.5], vec![1.0]];
    assert!(qkv_viz::QueryAttentionLines::new(&ragged, "t").is_err());
    assert!(qkv_viz::QueryAttentionLines::new(&[], "t").is_err());
    assert!(qkv_viz::TokenAcrossLayers::new(&ragged, None, "t").is_err());
    assert!(qkv_viz::AttentionGrid::new(&[w.clone(), vec![0.5; 4]], 4, None, "t").is_err());

    let x = vec![0.0f32, 1.0, 2.0];
    assert!(qkv_viz::SoftmaxScaling::new(&x, &[(1.0, vec![0.5, 0.5])]).is_err());
    assert!(qkv_viz::SoftmaxScaling::new(&x, &[(f32::INFINITY, vec![0.2; 3])]).is_err());
    assert!(qkv_viz::SoftmaxScaling::new(&x, &[]).is_err());

    let mut d = demo::seed_figure_data(1);
    d.query = d.seq_len;
    assert!(qkv_viz::six_panel_figure(&d, &out).is_err());
    let mut d = demo::seed_figure_data(1);
    d.causal_weights.pop();
    assert!(qkv_viz::six_panel_figure(&d, &out).is_err());
    assert!(!out.exists(), "a failed figure left a file behind");

    // Output errors name the path.
    let fig = qkv_viz::PeHeatmap::new(&pe, 5, 4).unwrap();
    let e = fig.write(dir.join("figure.jpg")).unwrap_err();
    assert!(matches!(e, Error::UnsupportedFormat { .. }), "{e}");
    let missing = dir.join("no/such/dir/figure.png");
    let e = fig.write(&missing).unwrap_err();
    assert!(
        matches!(&e, Error::Io { path, .. } if path == &missing),
        "{e}"
    );
    assert!(e.to_string().contains("no/such/dir"), "{e}");
    assert!(fig.write_sized(dir.join("z.png"), (0, 10)).is_err());
    // Absurdly small canvases squeeze the layout but neither panic nor hang.
    let d = demo::seed_figure_data(2);
    let six = qkv_viz::SixPanelFigure::new(&d).unwrap();
    for size in [(1, 1), (12, 9), (60, 40)] {
        let _ = fig.render_png(size);
        let _ = six.render_png(size);
        let _ = six.render_svg(size);
    }
    assert_eq!(Format::from_path(Path::new("a.Svg")).unwrap(), Format::Svg);
}
