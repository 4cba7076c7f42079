//! Order books: L2 books with their queries, per-instrument top-of-book state, sequence
//! checks, and the book stage that publishes top-of-book changes to the edge stage.

pub mod engine;
pub mod l2;
pub mod sequence;
pub mod side;
pub mod stage;
pub mod top;

pub use l2::{Crossing, Depth, Execution, InsufficientLiquidity, L2Book, TakerSide};
pub use side::{BookSide, Level, LevelChange};
pub use stage::{BookIo, BookParams, BookStage};
pub use top::TopUpdate;
