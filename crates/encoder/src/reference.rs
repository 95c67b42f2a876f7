//! A naive reference encoder layer built only from the reference kernels, in f64: the
//! definition the fast layer is tested against.
