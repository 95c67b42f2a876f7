//! The JSON header of a `.safetensors` file: read into an owned buffer, checked, and resolved
//! into one [`Entry`] per tensor.
//!
//! A safetensors file is `[u64 LE header length n][n bytes of JSON header][data]`; the header
//! maps each tensor name to `{dtype, shape, data_offsets: [begin, end]}` relative to the data
//! section. Files are untrusted input: every length, offset and shape is checked with
//! overflow-safe arithmetic before a byte is read.
//!
//! The header bytes are copied out of the mapping once, before the UTF-8 check, and everything
//! after that (the check, the JSON parse, the offsets) works on the copy: a file rewritten in
//! place while it is being opened can give a wrong header (an error, or the new header), never
//! a `&str` whose bytes change under it.

use crate::error::{Error, Result};
use safetensors::tensor::Metadata;
use safetensors::Dtype;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::ops::Range;
use std::path::Path;

/// Largest JSON header accepted (the safetensors crate's own limit): a bigger one is a broken or
/// hostile file, and parsing it would cost memory for nothing.
pub const MAX_HEADER_BYTES: u64 = 100_000_000;

/// One tensor's entry in the header, with its byte range resolved against the whole file.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Entry {
    pub(crate) dtype: Dtype,
    pub(crate) shape: Vec<usize>,
    /// Absolute byte range in the file.
    pub(crate) bytes: Range<usize>,
}

pub(crate) fn st_err(path: &Path, msg: impl Into<String>) -> Error {
    Error::Safetensors {
        path: path.to_path_buf(),
        msg: msg.into(),
    }
}

/// Copies the header of `file` (the whole mapped file) into an owned string and parses it.
pub(crate) fn read_header(path: &Path, file: &[u8]) -> Result<BTreeMap<String, Entry>> {
    let file_len = file.len();
    let mut len_bytes = [0u8; 8];
    len_bytes.copy_from_slice(
        file.get(..8)
            .ok_or_else(|| st_err(path, "file too short"))?,
    );
    let header_len = u64::from_le_bytes(len_bytes);
    if header_len > MAX_HEADER_BYTES {
        return Err(st_err(
            path,
            format!("JSON header of {header_len} bytes exceeds the {MAX_HEADER_BYTES}-byte limit"),
        ));
    }
    // Fits in usize: bounded by MAX_HEADER_BYTES above.
    let data_start = 8 + header_len as usize;
    if data_start > file_len {
        return Err(st_err(
            path,
            format!("header length {header_len} runs past the end of the {file_len}-byte file"),
        ));
    }
    // The one read of the header bytes: from here on only the copy is looked at.
    let owned: Vec<u8> = file[8..data_start].to_vec();
    let header = String::from_utf8(owned).map_err(|e| {
        st_err(
            path,
            format!(
                "JSON header is not valid UTF-8 (at byte {})",
                e.utf8_error().valid_up_to()
            ),
        )
    })?;
    parse_header(path, &header, data_start, file_len)
}

/// Parses an owned header (`data_start` = 8 + its length, `file_len` = the file's length) and
/// resolves every tensor's byte range, with the checks of the safetensors crate's
/// `read_metadata` plus our own, whose messages name the tensor.
pub(crate) fn parse_header(
    path: &Path,
    header: &str,
    data_start: usize,
    file_len: usize,
) -> Result<BTreeMap<String, Entry>> {
    if !header.trim_start().starts_with('{') {
        return Err(st_err(path, "JSON header is not an object"));
    }
    let data_len = file_len - data_start;
    let invalid = |kind: Invalid| st_err(path, describe_invalid(header, data_len, kind));
    // The crate's schema (names → {dtype, shape, data_offsets}, `__metadata__` strings only).
    let metadata: Metadata = serde_json::from_str(header).map_err(|_| invalid(Invalid::Schema))?;
    let mut tensors: Vec<(String, safetensors::tensor::TensorInfo)> = metadata
        .tensors()
        .into_iter()
        .map(|(n, i)| (n, i.clone()))
        .collect();
    tensors.sort_by(|(na, a), (nb, b)| (a.data_offsets, na).cmp(&(b.data_offsets, nb)));
    // The crate's layout rule: tensors tile the data section from 0, in offset order, each as
    // long as its shape and dtype say.
    let mut end_of_last = 0usize;
    for (name, info) in &tensors {
        let (begin, end) = info.data_offsets;
        if begin != end_of_last || end < begin {
            return Err(invalid(Invalid::Gap(name.clone())));
        }
        end_of_last = end;
        let nbytes = info
            .shape
            .iter()
            .try_fold(1usize, |acc, &d| acc.checked_mul(d))
            .and_then(|n| n.checked_mul(info.dtype.size()));
        match nbytes {
            None => return Err(invalid(Invalid::Other("ValidationOverflow"))),
            Some(n) if n != end - begin => {
                return Err(invalid(Invalid::Other("TensorInvalidInfo")))
            }
            Some(_) => {}
        }
    }
    if end_of_last != data_len {
        return Err(invalid(Invalid::Coverage));
    }

    let mut entries = BTreeMap::new();
    for (name, info) in tensors {
        let (begin, end) = info.data_offsets;
        check_entry(&name, info.dtype, &info.shape, begin, end, data_len)
            .map_err(|m| st_err(path, m))?;
        entries.insert(
            name,
            Entry {
                dtype: info.dtype,
                shape: info.shape,
                bytes: data_start + begin..data_start + end,
            },
        );
    }
    check_no_overlap(entries.iter().map(|(n, e)| (n.as_str(), e.bytes.clone())))
        .map_err(|m| st_err(path, m))?;
    Ok(entries)
}

/// Checks one tensor's offsets against the data section and its byte length against its
/// shape and dtype, all without overflow.
fn check_entry(
    name: &str,
    dtype: Dtype,
    shape: &[usize],
    begin: usize,
    end: usize,
    data_len: usize,
) -> std::result::Result<(), String> {
    if begin > end {
        return Err(format!(
            "tensor `{name}`: data_offsets [{begin}, {end}] end before they begin"
        ));
    }
    if end > data_len {
        return Err(format!(
            "tensor `{name}`: data_offsets [{begin}, {end}] outside the {data_len}-byte data section"
        ));
    }
    let nbytes = shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .and_then(|n| n.checked_mul(dtype.size()))
        .ok_or_else(|| format!("tensor `{name}`: shape {shape:?} overflows"))?;
    if end - begin != nbytes {
        return Err(format!(
            "tensor `{name}`: {dtype:?} shape {shape:?} needs {nbytes} bytes, data_offsets give {}",
            end - begin
        ));
    }
    Ok(())
}

/// Fails if two byte ranges overlap (empty ranges overlap nothing).
fn check_no_overlap<'a>(
    ranges: impl Iterator<Item = (&'a str, Range<usize>)>,
) -> std::result::Result<(), String> {
    let mut sorted: Vec<_> = ranges.filter(|(_, r)| !r.is_empty()).collect();
    sorted.sort_by_key(|(_, r)| (r.start, r.end));
    for pair in sorted.windows(2) {
        let ((a, ra), (b, rb)) = (&pair[0], &pair[1]);
        if rb.start < ra.end {
            return Err(format!(
                "tensors `{a}` {ra:?} and `{b}` {rb:?} overlap in the data section"
            ));
        }
    }
    Ok(())
}

/// What the crate's rules found wrong, before [`describe_invalid`] looks for a better message.
enum Invalid {
    /// The JSON does not follow the schema.
    Schema,
    /// This tensor does not start where the previous one ends.
    Gap(String),
    /// The tensors do not end where the file ends.
    Coverage,
    /// Another rule, by the crate's name for it.
    Other(&'static str),
}

/// Turns a terse rule violation into a message naming the offending tensor where possible,
/// by re-parsing the header loosely and running our own checks on each entry.
fn describe_invalid(header: &str, data_len: usize, kind: Invalid) -> String {
    #[derive(Deserialize)]
    struct Loose {
        dtype: Dtype,
        shape: Vec<usize>,
        data_offsets: (usize, usize),
    }
    let map: BTreeMap<String, serde_json::Value> = match serde_json::from_str(header) {
        Ok(map) => map,
        Err(e) => return format!("JSON header does not parse: {e}"),
    };
    let mut ranges = Vec::new();
    for (name, value) in map.iter().filter(|(n, _)| *n != "__metadata__") {
        let info = match Loose::deserialize(value) {
            Ok(info) => info,
            Err(e) => return format!("tensor `{name}`: malformed header entry: {e}"),
        };
        let (begin, end) = info.data_offsets;
        if let Err(m) = check_entry(name, info.dtype, &info.shape, begin, end, data_len) {
            return m;
        }
        ranges.push((name.as_str(), begin..end));
    }
    if let Err(m) = check_no_overlap(ranges.into_iter()) {
        return m;
    }
    match kind {
        Invalid::Gap(name) => format!(
            "tensor `{name}`: data_offsets leave a gap (tensors must tile the data section)"
        ),
        Invalid::Coverage => {
            format!("tensors do not cover the {data_len}-byte data section exactly")
        }
        Invalid::Schema => "JSON header does not follow the safetensors schema \
            (`__metadata__` must map strings to strings)"
            .to_string(),
        Invalid::Other(rule) => rule.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The parse needs nothing but the owned text: no mapping, no file.
    #[test]
    fn parses_from_an_owned_copy_alone() {
        let header = String::from(r#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#);
        let start = 8 + header.len();
        let p = Path::new("owned.safetensors");
        let entries = parse_header(p, &header, start, start + 8).unwrap();
        drop(header);
        let a = &entries["a"];
        assert_eq!((a.dtype, a.shape.as_slice()), (Dtype::F32, &[2usize][..]));
        assert_eq!(a.bytes, start..start + 8);
        let e = parse_header(
            p,
            r#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#,
            10,
            30,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("cover"), "{e}");
    }
}
