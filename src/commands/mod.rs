//! One module per subcommand: read the input, call the pure crates, print.

pub(crate) mod analyze;
pub(crate) mod canary;
pub(crate) mod judge;
pub(crate) mod serve;
pub(crate) mod thresholds;
pub(crate) mod validate;
