//! One replay input: a recording (streamed block by block) or a capture in any format
//! [`crate::capture`] reads (streamed message by message, each line bounded), as a
//! sequence of frames aimed at the replay's
//! connections (one per venue market of the configuration, in pipeline order) or, for
//! REST snapshots, at an instrument. Frames of markets or instruments the configuration
//! does not have are skipped (said once in the log).
//!
//! Cold path: runs on the replay thread; advancing a recording past its current block
//! takes the next one, read and decompressed ahead by the recording's
//! [`crate::record::block_loader`] thread.

use std::path::{Path, PathBuf};

use crate::capture::{CaptureError, CaptureReader, Direction};
use crate::record::format::{FrameKind, MAGIC};
use crate::record::{RecordError, RecordingReader};
use crate::replay::ReplayError;
use crate::types::{InstrumentId, InstrumentRegistry, MarketKind, Venue};

/// Why an input ended early: its damage (everything before it was replayed).
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// A recording's damage.
    #[error(transparent)]
    Record(#[from] RecordError),
    /// A capture's damage or a line that does not follow its format.
    #[error(transparent)]
    Capture(#[from] CaptureError),
}

impl From<InputError> for ReplayError {
    fn from(e: InputError) -> Self {
        match e {
            InputError::Record(e) => Self::Record(e),
            InputError::Capture(e) => Self::Capture(e),
        }
    }
}

/// Where a frame goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// A data frame of this connection (index into the replay's markets).
    Connection(usize),
    /// A REST depth snapshot of this instrument.
    Snapshot(InstrumentId),
}

/// A file to replay and, for captures (which do not say), its venue market.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputFile {
    /// The file.
    pub path: PathBuf,
    /// The market of a capture's frames (`None` for recordings).
    pub market: Option<(Venue, MarketKind)>,
}

impl InputFile {
    /// Parses `PATH` or `VENUE.KIND=PATH` (e.g. `binance.perp=usdm.gz`).
    pub fn parse(text: &str) -> Result<Self, String> {
        let Some((market, path)) = text.split_once('=') else {
            return Ok(Self {
                path: PathBuf::from(text),
                market: None,
            });
        };
        let bad = || format!("`{market}`: expected VENUE.KIND, e.g. binance.perp");
        let (venue, kind) = market.split_once('.').ok_or_else(bad)?;
        let venue = Venue::from_name(venue).ok_or_else(bad)?;
        let kind = MarketKind::from_name(kind).ok_or_else(bad)?;
        Ok(Self {
            path: PathBuf::from(path),
            market: Some((venue, kind)),
        })
    }
}

/// What the replay maps frames onto.
pub struct Markets<'a> {
    /// The connections' markets, by connection index.
    pub list: &'a [(Venue, MarketKind)],
    /// The configuration's instruments.
    pub registry: &'a InstrumentRegistry,
}

impl Markets<'_> {
    fn connection(&self, venue: Venue, kind: MarketKind) -> Option<usize> {
        self.list.iter().position(|m| *m == (venue, kind))
    }

    /// The market's only instrument, if it has exactly one.
    fn only_instrument(&self, venue: Venue, kind: MarketKind) -> Option<InstrumentId> {
        let mut of_market = self
            .registry
            .iter()
            .filter(|i| i.venue == venue && i.kind == kind);
        let first = of_market.next()?;
        of_market.next().is_none().then_some(first.id)
    }
}

/// The replay window: frames received before `from_ns` or after `to_ns` are skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// First receive time replayed, unix ns.
    pub from_ns: u64,
    /// Last receive time replayed, unix ns.
    pub to_ns: u64,
}

impl Default for Window {
    fn default() -> Self {
        Self {
            from_ns: 0,
            to_ns: u64::MAX,
        }
    }
}

/// An open input.
pub enum Input {
    /// A recording.
    Recording(Box<RecordingInput>),
    /// A capture, streamed.
    Capture(Box<CaptureInput>),
}

impl Input {
    /// Opens a recording (told by its magic bytes) or a capture, positioned on its
    /// first frame in the window.
    pub fn open(
        file: &InputFile,
        markets: &Markets<'_>,
        window: Window,
    ) -> Result<Self, ReplayError> {
        let mut input = if is_recording(&file.path) {
            Self::Recording(Box::new(RecordingInput::open(&file.path, markets, window)?))
        } else {
            let (venue, kind) = file.market.ok_or_else(|| ReplayError::CaptureMarket {
                path: file.path.clone(),
            })?;
            Self::Capture(Box::new(CaptureInput::open(
                &file.path, venue, kind, markets, window,
            )?))
        };
        input.advance()?;
        Ok(input)
    }

    /// The current frame: receive time, target, payload.
    #[inline]
    pub fn head(&self) -> Option<(u64, Target, &[u8])> {
        match self {
            Self::Recording(r) => r.head(),
            Self::Capture(c) => c.head(),
        }
    }

    /// Moves to the next frame in the window; after an error the input has ended.
    pub fn advance(&mut self) -> Result<(), InputError> {
        match self {
            Self::Recording(r) => Ok(r.advance()?),
            Self::Capture(c) => Ok(c.advance()?),
        }
    }
}

fn is_recording(path: &Path) -> bool {
    use std::io::Read;
    let mut magic = [0u8; 8];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut magic))
        .is_ok_and(|()| magic == MAGIC)
}

/// A recording mapped onto the replay's connections and instruments.
pub struct RecordingInput {
    reader: RecordingReader,
    connections: Vec<Option<usize>>,
    instruments: Vec<(u32, InstrumentId)>,
    head: Option<(u64, Target)>,
    to_ns: u64,
}

impl RecordingInput {
    fn open(path: &Path, markets: &Markets<'_>, window: Window) -> Result<Self, ReplayError> {
        let mut reader = RecordingReader::open(path)?;
        let header = reader.header().clone();
        let connections = header
            .connections
            .iter()
            .map(|c| {
                let mapped = markets.connection(c.venue, c.kind);
                if mapped.is_none() {
                    log::warn!(
                        "replay: {}: {} {} is not in the configuration; its frames are skipped",
                        path.display(),
                        c.venue,
                        c.kind.name()
                    );
                }
                mapped
            })
            .collect();
        let instruments = header
            .instruments
            .iter()
            .filter_map(|i| Some((i.id, markets.registry.find(i.venue, i.kind, &i.symbol)?)))
            .collect();
        if window.from_ns > 0 {
            reader.seek(window.from_ns);
        }
        Ok(Self {
            reader,
            connections,
            instruments,
            head: None,
            to_ns: window.to_ns,
        })
    }

    fn head(&self) -> Option<(u64, Target, &[u8])> {
        let (ts, target) = self.head?;
        Some((ts, target, self.reader.head()?.payload))
    }

    fn advance(&mut self) -> Result<(), RecordError> {
        self.head = None;
        while self.reader.advance()? {
            let Some(frame) = self.reader.head() else {
                continue;
            };
            if frame.ts_ns > self.to_ns {
                return Ok(());
            }
            let target = match frame.kind {
                FrameKind::Data => self
                    .connections
                    .get(usize::from(frame.connection))
                    .copied()
                    .flatten()
                    .map(Target::Connection),
                FrameKind::Snapshot => self
                    .instruments
                    .iter()
                    .find(|(id, _)| *id == frame.instrument)
                    .map(|(_, id)| Target::Snapshot(*id)),
            };
            if let Some(target) = target {
                self.head = Some((frame.ts_ns, target));
                return Ok(());
            }
        }
        Ok(())
    }
}

/// A capture's frames, aimed, read one message at a time.
pub struct CaptureInput {
    reader: CaptureReader,
    connection: usize,
    /// The market's instruments by symbol, for REST snapshots that name theirs.
    symbols: Vec<(String, InstrumentId)>,
    /// The market's only instrument, for REST snapshots that name none.
    only: Option<InstrumentId>,
    window: Window,
    head: Option<(u64, Target, String)>,
}

impl CaptureInput {
    fn open(
        path: &Path,
        venue: Venue,
        kind: MarketKind,
        markets: &Markets<'_>,
        window: Window,
    ) -> Result<Self, ReplayError> {
        let missing = || ReplayError::MarketNotConfigured {
            path: path.to_path_buf(),
            venue: venue.name(),
            kind: kind.name(),
        };
        let connection = markets.connection(venue, kind).ok_or_else(missing)?;
        let symbols = markets
            .registry
            .iter()
            .filter(|i| i.venue == venue && i.kind == kind)
            .map(|i| (i.symbol.clone(), i.id))
            .collect();
        Ok(Self {
            reader: CaptureReader::open(path)?,
            connection,
            symbols,
            only: markets.only_instrument(venue, kind),
            window,
            head: None,
        })
    }

    /// Reads on to the next message in the window that has a target.
    fn advance(&mut self) -> Result<(), CaptureError> {
        self.head = None;
        for message in self.reader.by_ref() {
            let m = message?;
            if m.ts_ns < self.window.from_ns || m.ts_ns > self.window.to_ns {
                continue;
            }
            let target = match m.direction {
                Direction::Sent => continue,
                Direction::Received => Target::Connection(self.connection),
                Direction::Http => {
                    let named = m
                        .source
                        .split(['?', '&'])
                        .find_map(|p| p.strip_prefix("symbol="))
                        .and_then(|s| self.symbols.iter().find(|(sym, _)| sym == s))
                        .map(|(_, id)| *id);
                    match named.or(self.only) {
                        Some(id) => Target::Snapshot(id),
                        None => continue,
                    }
                }
            };
            self.head = Some((m.ts_ns, target, m.payload));
            return Ok(());
        }
        Ok(())
    }

    fn head(&self) -> Option<(u64, Target, &[u8])> {
        let (ts, target, payload) = self.head.as_ref()?;
        Some((*ts, *target, payload.as_bytes()))
    }
}
