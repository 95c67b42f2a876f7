//! How a call's inputs are cut into work: sorted by token count (longest first, ties in input
//! order, as the library sorts them), cut into chunks of whole batches, and each chunk's rows
//! put back in input order. Pure Rust, no Python: unit-tested (also under AddressSanitizer).
//!
//! Results do not depend on this: a text's embedding (a pair's score) is the same bits alone, in
//! any batch, with any thread count (the library's contract). Sorting first keeps the batches
//! of similar lengths, and chunking lets the binding take the GIL back between chunks (Ctrl-C,
//! the progress bar) without changing which texts share a batch.

/// Batches per chunk between two GIL re-acquisitions.
pub const CHUNK_BATCHES: usize = 16;

/// Items per chunk for `batch_size` (whole batches, at least one item).
pub fn chunk_len(batch_size: usize) -> usize {
    batch_size.max(1).saturating_mul(CHUNK_BATCHES)
}

/// Indices of items sorted by `lens`, longest first, ties in input order.
pub fn order_by_length(lens: &[usize]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..lens.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(lens[i]));
    order
}

/// `items` rearranged so that position `k` holds `items[order[k]]` (moves, no clones).
/// `order` must be a permutation of `0..items.len()`; anything else is an error.
pub fn permute<T>(items: Vec<T>, order: &[usize]) -> Result<Vec<T>, String> {
    if order.len() != items.len() {
        return Err(format!(
            "permute: {} indices for {} items",
            order.len(),
            items.len()
        ));
    }
    let mut slots: Vec<Option<T>> = items.into_iter().map(Some).collect();
    order
        .iter()
        .map(|&i| {
            slots
                .get_mut(i)
                .and_then(Option::take)
                .ok_or_else(|| format!("permute: index {i} out of range or repeated"))
        })
        .collect()
}

/// Copies the `width`-wide rows of `src` (a chunk in sorted order, whose items are
/// `order[start..start + n]`) into their input-order rows of `dst`.
pub fn scatter_rows(
    src: &[f32],
    order: &[usize],
    start: usize,
    width: usize,
    dst: &mut [f32],
) -> Result<(), String> {
    if width == 0 {
        return Ok(());
    }
    let n = src.len() / width;
    let ids = order
        .get(start..start + n)
        .filter(|_| src.len() == n * width)
        .ok_or_else(|| {
            format!(
                "scatter: {} values of width {width} at {start} do not fit {} items",
                src.len(),
                order.len()
            )
        })?;
    for (row, &i) in src.chunks_exact(width).zip(ids) {
        let to = dst
            .get_mut(i * width..(i + 1) * width)
            .ok_or_else(|| format!("scatter: row {i} outside the output"))?;
        to.copy_from_slice(row);
    }
    Ok(())
}

/// Documents ranked by score, best first, ties in input order (`f32::total_cmp`, as the
/// library's `CrossEncoder::rank`).
pub fn rank_order(scores: &[f32]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_is_longest_first_and_stable() {
        assert_eq!(order_by_length(&[3, 5, 3, 1, 5]), [1, 4, 0, 2, 3]);
        assert!(order_by_length(&[]).is_empty());
    }

    #[test]
    fn permute_moves_every_item_once() {
        let items: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        assert_eq!(permute(items.clone(), &[2, 0, 1]).unwrap(), ["c", "a", "b"]);
        assert!(permute(items.clone(), &[0, 0, 1]).is_err());
        assert!(permute(items.clone(), &[0, 1, 3]).is_err());
        assert!(permute(items, &[0, 1]).is_err());
    }

    #[test]
    fn chunks_scattered_back_in_input_order() {
        // 37 items of width 3 whose row i holds i: sorted, cut into chunks, scattered back.
        let lens: Vec<usize> = (0..37).map(|i| (i * 7919) % 13).collect();
        let order = order_by_length(&lens);
        let width = 3;
        let mut out = vec![f32::NAN; 37 * width];
        for (c, chunk) in order.chunks(chunk_len(1)).enumerate() {
            let src: Vec<f32> = chunk
                .iter()
                .flat_map(|&i| std::iter::repeat_n(i as f32, width))
                .collect();
            scatter_rows(&src, &order, c * chunk_len(1), width, &mut out).unwrap();
        }
        for (i, row) in out.chunks(width).enumerate() {
            assert!(row.iter().all(|&v| v == i as f32), "row {i}: {row:?}");
        }
        assert!(scatter_rows(&[0.0; 6], &order, 36, 3, &mut out).is_err());
        assert!(scatter_rows(&[0.0; 5], &order, 0, 3, &mut out).is_err());
        assert!(scatter_rows(&[0.0; 3], &[99], 0, 3, &mut out).is_err());
        assert!(scatter_rows(&[], &order, 0, 0, &mut out).is_ok());
    }

    #[test]
    fn chunk_len_is_whole_batches() {
        assert_eq!(chunk_len(32), 32 * CHUNK_BATCHES);
        assert_eq!(chunk_len(0), CHUNK_BATCHES);
        assert_eq!(chunk_len(usize::MAX), usize::MAX);
    }

    #[test]
    fn rank_is_best_first_with_stable_ties() {
        assert_eq!(rank_order(&[0.1, 0.9, 0.1, 0.5]), [1, 3, 0, 2]);
        assert_eq!(rank_order(&[-0.0, 0.0]), [1, 0]);
        assert_eq!(rank_order(&[f32::NAN, 1.0]), [0, 1]);
        assert!(rank_order(&[]).is_empty());
    }
}
