//! The lockscope viewer: reads traces written by the `lockscope` probe.
//!
//! - [`model`] decodes a trace and analyses it (lock table, contended sites, flame trees), with
//!   no GUI code in it.
//! - [`cli`] is `lockscope report|view`.

pub mod cli;
pub mod model;
