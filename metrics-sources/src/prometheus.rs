//! prometheus (being written).
