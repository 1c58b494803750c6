//! stackdriver (being written).
