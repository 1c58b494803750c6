//! Rendering results for people.

pub(crate) mod html;
pub(crate) mod number;
pub(crate) mod style;
pub(crate) mod table;
pub(crate) mod text;
