//! Order books: per-instrument state, sequence checks and the book stage that publishes
//! top-of-book changes to the edge stage.

pub mod stage;
pub mod top;

pub use stage::BookStage;
pub use top::TopUpdate;
