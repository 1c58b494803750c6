//! kanary
