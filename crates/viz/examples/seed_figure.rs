//! Write the seed notebook's six-panel figure from formula and synthetic data.
//!
//! ```text
//! cargo run -p qkv-viz --example seed_figure -- out.png   # or out.svg
//! ```

use qkv_viz::{demo, Figure, SixPanelFigure};
use std::process::ExitCode;

fn main() -> ExitCode {
    let Some(path) = std::env::args_os().nth(1) else {
        eprintln!("usage: seed_figure OUTPUT.png|OUTPUT.svg");
        return ExitCode::from(2);
    };
    let data = demo::seed_figure_data(42);
    match SixPanelFigure::new(&data).and_then(|fig| fig.write(&path)) {
        Ok(()) => {
            println!("wrote {}", path.to_string_lossy());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("seed_figure: {e}");
            ExitCode::FAILURE
        }
    }
}
