//! The task file: splitting, parsing and minimal-diff editing. No I/O happens here.

pub mod edit;
pub mod fast;
pub mod model;
pub mod split;
pub mod yaml;

pub use edit::{Change, Edit};
pub use model::{Kind, Status, Task};
