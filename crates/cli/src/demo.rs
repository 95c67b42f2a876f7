//! `qkv demo`: the seed notebook's story on qkv's kernels, no model needed. The numbers come from
//! [`qkv_notebook::run`]; this file prints them and draws the figures with `qkv-viz`.

use anyhow::{Context, Result};
use clap::Args;
use qkv_notebook::{self as seed, max_row_sum_error, SeedConfig, SeedDemo, SINUSOID_DIMS};
use qkv_viz::{
    AttentionGrid, AttentionHeatmap, Figure, PeHeatmap, PeSinusoids, QueryAttentionLines,
    SeedFigureData, SixPanelFigure, SoftmaxScaling,
};
use std::path::{Path, PathBuf};

/// `qkv demo`.
#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Directory for the figures (created if missing).
    #[arg(long, default_value = "qkv-demo")]
    pub out: PathBuf,
}

/// Runs the seed demo, prints its numbers and writes its figures.
pub fn run(args: DemoArgs) -> Result<()> {
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create the output directory {}", args.out.display()))?;
    let demo = seed::run(&SeedConfig::default()).context("running the seed demo")?;
    print!("{}", report(&demo));
    let written = write_figures(&demo, &args.out)?;
    println!("Figures (PNG and SVG) written to {}:", args.out.display());
    for (file, (w, h)) in written {
        println!("  {file}  {w}×{h}");
    }
    Ok(())
}

/// A value with `prec` decimals, without the sign of a value that rounds to zero.
pub fn fixed(v: f64, prec: usize) -> String {
    let s = format!("{v:.prec$}");
    match s.strip_prefix('-') {
        Some(rest) if rest.chars().all(|c| c == '0' || c == '.') => rest.to_string(),
        _ => s,
    }
}

fn list(v: &[f32], prec: usize) -> String {
    let items: Vec<String> = v.iter().map(|&x| fixed(f64::from(x), prec)).collect();
    format!("[{}]", items.join(" "))
}

/// What `qkv demo` prints, in the notebook's order.
pub fn report(d: &SeedDemo) -> String {
    use std::fmt::Write;
    let c = &d.config;
    let (s, dk) = (c.seq_len, c.d_k());
    let mut o = String::new();
    let w = &mut o;
    // `write!` to a String cannot fail.
    let _ = writeln!(
        w,
        "qkv demo: the seed notebook (transformer_basics.ipynb) replayed on qkv's kernels\n\
         Random numbers: NumPy's legacy generator reproduced exactly, np.random.seed({}), \
         drawn in the notebook's order.\n",
        c.seed
    );
    let _ = writeln!(w, "Transformer configuration");
    let _ = writeln!(
        w,
        "  d_model {}, d_k = d_v {dk}, heads {}, seq_len {s}, d_ff {}; post-norm, ReLU, \
         LayerNorm eps {:e}\n",
        c.d_model, c.heads, c.d_ff, c.eps
    );

    let _ = writeln!(
        w,
        "Scaled dot-product attention (fused kernel, one head, random Q, K, V of {s}×{dk})"
    );
    let sums = seed::row_sums(&d.sdpa_weights, s);
    let _ = writeln!(w, "  attention weights {s}×{s}");
    let _ = writeln!(w, "  row sums (should be 1): {}", list(&sums, 6));
    let _ = writeln!(
        w,
        "  max |row sum - 1| = {:.1e}\n",
        max_row_sum_error(&d.sdpa_weights, s)
    );

    let _ = writeln!(
        w,
        "Multi-head attention ({} heads, W_Q, W_K, W_V, W_O ~ randn*0.1, X ~ randn {s}×{})",
        c.heads, c.d_model
    );
    let _ = writeln!(
        w,
        "  output {s}×{}; {} heads of {s}×{s} weights",
        c.d_model, c.heads
    );
    let _ = writeln!(w, "  head 1, query 0: {}", list(&d.mha_head(0)[..s], 4));
    let _ = writeln!(
        w,
        "  max |row sum - 1| = {:.1e}\n",
        max_row_sum_error(&d.mha_weights, s)
    );

    let _ = writeln!(
        w,
        "Positional encoding (PE(pos, 2i) = sin(pos / 10000^(2i/d)), PE(pos, 2i+1) = cos(…))"
    );
    // f32 carries 7 significant decimals; the notebook prints float64 to 8.
    let _ = writeln!(
        w,
        "  table {}×{} (f32, angles in f64, rounded once)",
        c.pe_positions, c.d_model
    );
    let _ = writeln!(w, "  PE[0, :8] = {}", list(&d.pe_row(0)[..8], 7));
    let _ = writeln!(w, "  PE[1, :8] = {}\n", list(&d.pe_row(1)[..8], 7));

    let ln = &d.layer_norm;
    let _ = writeln!(
        w,
        "LayerNorm of randn*10 + 5 ({s}×{}; PyTorch: (x - mean)/sqrt(var + eps), eps {:e})",
        c.d_model, ln.eps
    );
    let _ = writeln!(
        w,
        "  before: mean {}, std {}",
        fixed(ln.before.mean, 4),
        fixed(ln.before.std, 4)
    );
    let _ = writeln!(
        w,
        "  after:  mean {}, std {}\n",
        fixed(ln.after.mean, 4),
        fixed(ln.after.std, 4)
    );

    let _ = writeln!(
        w,
        "Encoder layer (LN(x + MHA(x)), LN(x + FFN(x)); X ~ randn {s}×{})",
        c.d_model
    );
    for run in [&d.encoder, &d.encoder_causal] {
        let _ = writeln!(
            w,
            "  {}: output mean {}, std {}; max |row sum - 1| = {:.1e}; max weight above the \
             diagonal {}",
            if run.causal {
                "causal mask"
            } else {
                "no mask    "
            },
            fixed(run.output_mean, 4),
            fixed(run.output_std, 4),
            max_row_sum_error(&run.weights, s),
            run.max_above_diagonal()
        );
    }
    let _ = writeln!(
        w,
        "  causal, head 1, query 0: {}\n",
        list(&d.encoder_causal.head(0)[..s], 0)
    );

    let sc = &d.scaling;
    let _ = writeln!(
        w,
        "Effect of the scaling factor (Q, K of {}×{dk} multiplied by sqrt(d_k) = {})",
        seed::SCALING_ROWS,
        (dk as f64).sqrt()
    );
    let _ = writeln!(
        w,
        "  unscaled scores range: [{}, {}]   mean softmax entropy {} nats",
        fixed(f64::from(sc.unscaled.min), 2),
        fixed(f64::from(sc.unscaled.max), 2),
        fixed(sc.unscaled.entropy, 4)
    );
    let _ = writeln!(
        w,
        "  scaled scores range:   [{}, {}]   mean softmax entropy {} nats",
        fixed(f64::from(sc.scaled.min), 2),
        fixed(f64::from(sc.scaled.max), 2),
        fixed(sc.scaled.entropy, 4)
    );
    let _ = writeln!(w, "  higher entropy = attention spread over more keys\n");

    let samples = d.dot_variance.first().map_or(0, |v| v.samples);
    let _ = writeln!(
        w,
        "Why 1/sqrt(d_k): Var(q·k) for q, k with independent unit-variance entries \
         ({samples} pairs per d_k)"
    );
    let _ = writeln!(
        w,
        "  {:>5}  {:>10}  {:>8}  {:>14}  {:>8}",
        "d_k", "Var(q·k)", "Var/d_k", "Var(q·k/√d_k)", "std err"
    );
    for v in &d.dot_variance {
        let _ = writeln!(
            w,
            "  {:>5}  {:>10}  {:>8}  {:>14}  {:>8}",
            v.d_k,
            fixed(v.var, 3),
            fixed(v.ratio(), 4),
            fixed(v.var_scaled, 4),
            fixed(v.ratio_std_error(), 4)
        );
    }
    let _ = writeln!(
        w,
        "  Var(q·k) grows like d_k; after 1/sqrt(d_k) it stays near 1, so softmax keeps its spread.\n"
    );
    o
}

/// The six-panel figure's data, from the demo.
pub fn figure_data(d: &SeedDemo) -> SeedFigureData {
    SeedFigureData {
        pe: d.pe.clone(),
        pe_positions: d.config.pe_positions,
        pe_dims: d.config.d_model,
        sinusoid_dims: SINUSOID_DIMS.to_vec(),
        head_weights: d.mha_per_head(),
        seq_len: d.config.seq_len,
        query: 0,
        softmax_x: d.softmax_x.clone(),
        softmax_curves: d.softmax_curves.clone(),
        causal_weights: d.causal_weights.clone(),
    }
}

/// Every figure `qkv demo` writes: (file stem, figure size in pixels).
pub fn write_figures(d: &SeedDemo, out: &Path) -> Result<Vec<(String, (u32, u32))>> {
    let data = figure_data(d);
    let (n, dm, positions) = (d.config.seq_len, d.config.d_model, d.config.pe_positions);
    let mut written = Vec::new();
    let mut put = |stem: &str, size: (u32, u32), res: qkv_viz::Result<[PathBuf; 2]>| {
        res.with_context(|| format!("cannot write the figure {}", out.join(stem).display()))?;
        written.push((format!("{stem}.png, {stem}.svg"), size));
        anyhow::Ok(())
    };

    let six = SixPanelFigure::new(&data)?;
    put(
        "transformer_basics",
        six.size(),
        six.write_png_and_svg(out.join("transformer_basics")),
    )?;
    let pe = PeHeatmap::new(&data.pe, positions, dm)?;
    put(
        "pe_heatmap",
        pe.size(),
        pe.write_png_and_svg(out.join("pe_heatmap")),
    )?;
    let head1 = AttentionHeatmap::new(
        &data.head_weights[0],
        n,
        n,
        None,
        None,
        "Attention Weights (Head 1)",
    )?;
    put(
        "attention_head1",
        head1.size(),
        head1.write_png_and_svg(out.join("attention_head1")),
    )?;
    let rows: Vec<Vec<f32>> = data.head_weights.iter().map(|w| w[..n].to_vec()).collect();
    let lines = QueryAttentionLines::new(&rows, "Attention Distribution (Query pos 0)")?;
    put(
        "attention_query0",
        lines.size(),
        lines.write_png_and_svg(out.join("attention_query0")),
    )?;
    let soft = SoftmaxScaling::new(&data.softmax_x, &data.softmax_curves)?;
    put(
        "softmax_scaling",
        soft.size(),
        soft.write_png_and_svg(out.join("softmax_scaling")),
    )?;
    let sines = PeSinusoids::new(&data.pe, positions, dm, &data.sinusoid_dims)?;
    put(
        "pe_sinusoids",
        sines.size(),
        sines.write_png_and_svg(out.join("pe_sinusoids")),
    )?;
    let causal = AttentionHeatmap::new(
        &data.causal_weights,
        n,
        n,
        None,
        None,
        "Causal (Masked) Attention",
    )?;
    put(
        "causal_attention",
        causal.size(),
        causal.write_png_and_svg(out.join("causal_attention")),
    )?;

    // Beyond the notebook: its encoder layer could not take a mask; qkv's can.
    let heads = d.encoder.per_head();
    let grid = AttentionGrid::new(&heads, n, None, "Seed encoder layer: every head, no mask")?;
    put(
        "encoder_heads",
        grid.size(),
        grid.write_png_and_svg(out.join("encoder_heads")),
    )?;
    let heads_causal = d.encoder_causal.per_head();
    let grid = AttentionGrid::new(
        &heads_causal,
        n,
        None,
        "Seed encoder layer: every head, causal mask",
    )?;
    put(
        "encoder_heads_causal",
        grid.size(),
        grid.write_png_and_svg(out.join("encoder_heads_causal")),
    )?;
    Ok(written)
}
