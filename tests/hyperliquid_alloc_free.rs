//! Proves the Hyperliquid decoder allocates nothing per message: after one warm-up pass,
//! every real message of `../shared/data/hyperliquid` (books, trades, top of book, asset
//! contexts, the unhandled channels) is decoded again with a counting global allocator
//! watching this thread. Skips (saying so) when the data is absent, and fails instead
//! under `CI=true`.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use edgeline::capture::read_file;
use edgeline::feed::hyperliquid::HyperliquidDecoder;
use edgeline::feed::{EventBuf, SymbolMap};
use edgeline::types::{InstrumentId, MarketKind};

struct CountingAlloc;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

// SAFETY: defers every call to `System`, which upholds the `GlobalAlloc` contract; the
// bookkeeping only touches const-initialised thread-locals, which never allocate.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note_allocation();
        // SAFETY: same layout contract as our caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System.alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note_allocation();
        // SAFETY: forwarded unchanged from our caller.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

fn note_allocation() {
    let _ = COUNTING.try_with(|on| {
        if on.get() {
            let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        }
    });
}

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

#[test]
fn test_hyperliquid_decode_allocates_nothing_per_message() {
    let frames: Vec<String> = [
        "perp_hftbacktest_",
        "perp_spot_tardis-node_",
        "perp_nautilus_",
    ]
    .into_iter()
    .filter_map(|prefix| common::data_file("hyperliquid", prefix))
    .flat_map(|path| read_file(&path).unwrap())
    .map(|m| m.payload)
    .collect();
    if frames.is_empty() {
        return;
    }
    let mut symbols = SymbolMap::default();
    for (i, coin) in ["BTC", "FXS", "SHIA", "BANANA", "MOODENG", "@2", "@162"]
        .into_iter()
        .enumerate()
    {
        symbols.insert(coin, InstrumentId(u32::try_from(i).unwrap()));
    }
    let mut decoder = HyperliquidDecoder::new(MarketKind::Perp, symbols);
    let mut buf = EventBuf::with_capacity(256);
    let mut decode_all = |buf: &mut EventBuf| {
        let mut ok = 0;
        for frame in &frames {
            buf.clear();
            ok += usize::from(decoder.decode(frame.as_bytes(), 1, buf).is_ok());
        }
        ok
    };
    let warm = decode_all(&mut buf);
    COUNTING.with(|on| on.set(true));
    let again = decode_all(&mut buf);
    COUNTING.with(|on| on.set(false));
    assert_eq!((warm, again), (frames.len(), frames.len()));
    assert_eq!(ALLOCATIONS.with(Cell::get), 0);
}
