//! `qkv viz`: attention heatmaps of a real model on a text, with the WordPiece tokens as labels.
//! The weights come from the attention kernel's probabilities path (`BertModel::forward_with` with one
//! buffer per layer); `qkv-viz` draws them.

use anyhow::{bail, Context, Result};
use clap::Args;
use qkv_encoder::{SentenceEncoder, TokenSeq, Workspace};
use qkv_viz::{AttentionGrid, AttentionHeatmap, Figure, TokenAcrossLayers};
use std::path::{Path, PathBuf};

/// `qkv viz`.
#[derive(Args, Debug)]
pub struct VizArgs {
    /// Model directory (sentence-transformers layout). Default: $QKV_MODEL_DIR, else
    /// ${QKV_CACHE:-$HOME/.cache/qkv}/all-MiniLM-L6-v2, where scripts/fetch_model.sh puts it.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// The text to run through the model.
    #[arg(long)]
    pub text: String,
    /// Layer to draw, from 1.
    #[arg(long, default_value_t = 1)]
    pub layer: usize,
    /// Draw this head alone (from 1) instead of a grid of every head of the layer; the
    /// across-layers figure then follows this head instead of the mean over heads.
    #[arg(long)]
    pub head: Option<usize>,
    /// Position of the token whose attention is drawn across layers (0 = `[CLS]`).
    #[arg(long, default_value_t = 0)]
    pub token: usize,
    /// Directory for the figures (created if missing).
    #[arg(long, default_value = "qkv-viz")]
    pub out: PathBuf,
}

/// The model directory `qkv viz` uses when `--model` is not given.
pub fn default_model_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("QKV_MODEL_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    let cache = std::env::var_os("QKV_CACHE")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let home = std::env::var_os("HOME").unwrap_or_default();
            Path::new(&home).join(".cache").join("qkv")
        });
    cache.join("all-MiniLM-L6-v2")
}

/// A model's attention on one text.
#[derive(Clone, Debug)]
pub struct TextAttention {
    /// The WordPiece tokens, `[CLS]` and `[SEP]` included.
    pub tokens: Vec<String>,
    /// Per layer, the weights `[heads, S, S]` (row = query token).
    pub layers: Vec<Vec<f32>>,
    /// Heads per layer.
    pub heads: usize,
    /// Whether the text was cut at the model's maximum length.
    pub truncated: bool,
}

impl TextAttention {
    /// Tokens in the sequence.
    pub fn seq_len(&self) -> usize {
        self.tokens.len()
    }

    /// Head `h` (0-based) of layer `l` (0-based), `[S, S]`.
    pub fn head(&self, l: usize, h: usize) -> &[f32] {
        let s2 = self.seq_len() * self.seq_len();
        &self.layers[l][h * s2..(h + 1) * s2]
    }

    /// Every head of layer `l`, one `Vec` each.
    pub fn heads_of(&self, l: usize) -> Vec<Vec<f32>> {
        (0..self.heads).map(|h| self.head(l, h).to_vec()).collect()
    }

    /// The attention of query `token` in every layer: head `h`, or the mean over heads.
    pub fn token_rows(&self, token: usize, head: Option<usize>) -> Vec<Vec<f32>> {
        let s = self.seq_len();
        (0..self.layers.len())
            .map(|l| match head {
                Some(h) => self.head(l, h)[token * s..(token + 1) * s].to_vec(),
                None => {
                    let mut row = vec![0.0f32; s];
                    for h in 0..self.heads {
                        let r = &self.head(l, h)[token * s..(token + 1) * s];
                        row.iter_mut().zip(r).for_each(|(a, b)| *a += b);
                    }
                    row.iter_mut().for_each(|a| *a /= self.heads as f32);
                    row
                }
            })
            .collect()
    }
}

/// Tokenizes `text` and runs the model once, keeping every layer's attention weights.
pub fn text_attention(model: &SentenceEncoder, text: &str) -> Result<TextAttention> {
    let enc = model.tokenizer().encode(text)?;
    let seq = TokenSeq {
        ids: &enc.ids,
        type_ids: Some(&enc.type_ids),
    };
    let bert = model.model().bert().ok_or_else(|| {
        anyhow::anyhow!("qkv viz draws BERT-shaped models (BERT, RoBERTa, MPNet, DistilBERT)")
    })?;
    let n_layers = bert.encoder().layers().len();
    let heads = bert.config().num_attention_heads;
    let mut layers = vec![Vec::new(); n_layers];
    let mut hidden = Vec::new();
    bert.forward_with(
        &[seq],
        &mut Workspace::default(),
        &mut hidden,
        Some(&mut layers),
    )?;
    Ok(TextAttention {
        tokens: enc.tokens,
        layers,
        heads,
        truncated: enc.truncated,
    })
}

/// Runs `qkv viz`.
pub fn run(args: VizArgs) -> Result<()> {
    let dir = args.model.clone().unwrap_or_else(default_model_dir);
    if !dir.is_dir() {
        bail!(
            "model directory {} does not exist (pass --model DIR, set QKV_MODEL_DIR, or run \
             scripts/fetch_model.sh to fetch all-MiniLM-L6-v2)",
            dir.display()
        );
    }
    let model = SentenceEncoder::open(&dir)
        .with_context(|| format!("cannot load the model in {}", dir.display()))?;
    let att = text_attention(&model, &args.text).context("cannot run the model on the text")?;
    let (n_layers, heads, s) = (att.layers.len(), att.heads, att.seq_len());
    if args.layer == 0 || args.layer > n_layers {
        bail!(
            "--layer {} is out of range: the model has layers 1 to {n_layers}",
            args.layer
        );
    }
    if let Some(h) = args.head {
        if h == 0 || h > heads {
            bail!("--head {h} is out of range: the model has heads 1 to {heads}");
        }
    }
    if args.token >= s {
        bail!(
            "--token {} is out of range: the text has {s} tokens (0 to {})",
            args.token,
            s - 1
        );
    }
    let name = dir
        .file_name()
        .map_or_else(|| "model".into(), |n| n.to_string_lossy().into_owned());
    println!("{name}: {n_layers} layers × {heads} heads; {s} tokens:");
    let numbered: Vec<String> = att
        .tokens
        .iter()
        .enumerate()
        .map(|(i, t)| format!("{i}:{t}"))
        .collect();
    println!("  {}", numbered.join(" "));
    if att.truncated {
        println!("  (the text was cut at the model's maximum of {s} tokens)");
    }

    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create the output directory {}", args.out.display()))?;
    let labels = &att.tokens[..];
    let l = args.layer - 1;
    let mut written = Vec::new();
    match args.head {
        Some(h) => {
            let fig = AttentionHeatmap::new(
                att.head(l, h - 1),
                s,
                s,
                Some(labels),
                Some(labels),
                &format!("{name}: layer {}, head {h}", args.layer),
            )?;
            let stem = format!("layer{}_head{h}", args.layer);
            written.push(write(&fig, &args.out, &stem)?);
        }
        None => {
            let heads_l = att.heads_of(l);
            let fig = AttentionGrid::new(
                &heads_l,
                s,
                Some(labels),
                &format!("{name}: layer {}, every head", args.layer),
            )?;
            let stem = format!("layer{}_heads", args.layer);
            written.push(write(&fig, &args.out, &stem)?);
        }
    }
    let rows = att.token_rows(args.token, args.head.map(|h| h - 1));
    let which = match args.head {
        Some(h) => format!("head {h}"),
        None => "mean over heads".into(),
    };
    let fig = TokenAcrossLayers::new(
        &rows,
        Some(labels),
        &format!(
            "Attention of \"{}\" (token {}) across layers, {which}",
            att.tokens[args.token], args.token
        ),
    )?;
    let stem = format!("token{}_across_layers", args.token);
    written.push(write(&fig, &args.out, &stem)?);

    println!("Figures (PNG and SVG) written to {}:", args.out.display());
    for (stem, (w, h)) in written {
        println!("  {stem}.png, {stem}.svg  {w}×{h}");
    }
    Ok(())
}

fn write<F: Figure>(fig: &F, out: &Path, stem: &str) -> Result<(String, (u32, u32))> {
    fig.write_png_and_svg(out.join(stem))
        .with_context(|| format!("cannot write the figure {}", out.join(stem).display()))?;
    Ok((stem.to_string(), fig.size()))
}
