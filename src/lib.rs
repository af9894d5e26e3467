pub mod task;
pub mod error;
