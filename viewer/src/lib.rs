//! The lockscope viewer: reads traces written by the `lockscope` probe.
//!
//! - [`model`] decodes a trace and analyses it (lock table, contended sites, flame trees), with
//!   no GUI code in it.
//! - [`export`] turns a model into folded stacks, flame-graph SVG (feature `svg`, on by
//!   default), Chrome trace JSON or pprof.
//! - [`cli`] is `lockscope report|export|flamegraph|view`.
//! - [`app`] is the desktop viewer, drawing the [`panels`] over a [`source`]; [`window`] puts
//!   it on screen.

#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "gui")]
pub mod app;
pub mod cli;
pub mod export;
pub mod model;
#[cfg(feature = "gui")]
pub mod panels;
pub mod source;
pub(crate) mod units;
#[cfg(feature = "gui")]
pub mod window;
