//! What the stream flow reads of a scenario file, and how it judges its `[expect]`.
//!
//! - [`file`]: [`StreamFile`], every section a stream scenario gives, and the run it asks for;
//!   `flow`: what it says about its run, as a [`crate::flows::flow::FlowFile`];
//! - [`sections`]: `[source]`, `[generate]`, `[replay]`; [`expect`]: `[expect]`;
//! - [`input`]: the generator, web source and load plan the file describes;
//! - `check`: what the types cannot say; `planned`: the run it plans, within caps;
//! - [`assert`]: the run judged against `[expect]`.

pub mod assert;
mod check;
pub mod expect;
pub mod file;
mod flow;
mod input;
mod planned;
pub mod sections;

pub use expect::Expect;
pub use file::StreamFile;
pub use sections::SourceKind;
