//! `edgeline verify` as a user runs it: the exit status and what it names when a book
//! never synced or ends invalid, instruments with no book message, `--dump-book` output,
//! and the library's dumps checked against the book engine fed directly. Small synthetic
//! captures (cryptofeed `.ws.log` with its `configuration:` header) are written to a
//! temporary folder; the real recordings in `../shared/data` are used where present
//! (SKIPPED when absent, a failure under `CI=true`), including the zstd-compressed Bybit
//! capture against its plain twin.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use edgeline::book::BookParams;
use edgeline::book::engine::BookEngine;
use edgeline::capture::{self, Direction};
use edgeline::feed::{EventBuf, SymbolMap, venues::VenueDecoder};
use edgeline::types::{
    EventBody, InstrumentId, InstrumentRegistry, InstrumentSpec, MarketKind, Price, Qty, Side,
    Venue,
};
use edgeline::verify::{
    BookDump, BookState, DumpAt, DumpRequest, VerifyError, VerifyOptions, verify, verify_with,
};

/// Both sides of a book, best first.
type Sides = (Vec<(Price, Qty)>, Vec<(Price, Qty)>);

const LINEAR: &str = "wss://stream.bybit.com/v5/public/linear";

fn book(kind: &str, u: u64, bids: &str, asks: &str, symbol: &str) -> String {
    format!(
        r#"{{"topic":"orderbook.50.{symbol}","type":"{kind}","ts":{u},"data":{{"s":"{symbol}","b":[{bids}],"a":[{asks}],"u":{u},"seq":{u}}},"cts":{u}}}"#
    )
}

fn trade(symbol: &str) -> String {
    format!(
        r#"{{"topic":"publicTrade.{symbol}","type":"snapshot","ts":5,"data":[{{"T":5,"s":"{symbol}","S":"Buy","v":"0.1","p":"3000","L":"PlusTick","i":"7","BT":false}}]}}"#
    )
}

/// A Bybit linear `.ws.log` as cryptofeed writes it, one received frame per payload.
fn ws_log(dir: &Path, name: &str, payloads: &[String]) -> PathBuf {
    let mut text = String::from("configuration: {'log': {'filename': 'feed.log'}}\n");
    text.push_str(&format!("{LINEAR} <-> 1786310800.0\n"));
    text.push_str(&format!(
        "{LINEAR} <- 1786310800.1: {{\"op\":\"subscribe\",\"args\":[]}}\n"
    ));
    for (i, p) in payloads.iter().enumerate() {
        text.push_str(&format!("1786310801.{:03}: {p}\n", i + 1));
    }
    text.push('\n');
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// BTCUSDT synced (a snapshot and two linked deltas), ETHUSDT trades only.
fn good_capture(dir: &Path) -> PathBuf {
    ws_log(
        dir,
        "BYBIT.ws.1.0",
        &[
            book(
                "snapshot",
                10,
                r#"["100.5","1"],["100","2"]"#,
                r#"["101","3"],["101.5","0.5"]"#,
                "BTCUSDT",
            ),
            trade("ETHUSDT"),
            book("delta", 11, r#"["100.5","0"],["99.5","4"]"#, "", "BTCUSDT"),
            book("delta", 12, "", r#"["101","0.25"]"#, "BTCUSDT"),
        ],
    )
}

fn edgeline(args: &[&str], files: &[&Path]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_edgeline"));
    command.args(args);
    for f in files {
        command.arg(f);
    }
    command.output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

const PERP: [&str; 5] = ["verify", "--venue", "bybit", "--market", "perp"];

#[test]
fn test_verify_cli_never_synced_exits_non_zero_naming_the_instrument() {
    let dir = tempfile::tempdir().unwrap();
    let file = ws_log(
        dir.path(),
        "deltas-only.ws.log",
        &[
            book("delta", 21, r#"["5","1"]"#, "", "SOLUSDT"),
            book("delta", 22, r#"["5","2"]"#, "", "SOLUSDT"),
        ],
    );
    let out = edgeline(&PERP, &[&file]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(!out.status.success(), "{stdout}{stderr}");
    assert!(
        stderr.contains("SOLUSDT: book never synced (2 book messages, 2 dropped waiting"),
        "{stderr}"
    );
    assert!(stdout.contains("never synced"), "{stdout}");
}

/// Issue 21: a frame nested 30,000 deep aborted `verify` (a stack overflow in the
/// recursive parser); now it is one malformed message, and the exit status says so.
#[test]
fn test_verify_cli_deeply_nested_frame_is_malformed_not_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let deep = format!(
        r#"{{"topic":"orderbook.50.BTCUSDT","x":{}{}}}"#,
        "[".repeat(30_000),
        "]".repeat(30_000)
    );
    let mut payloads = vec![deep];
    payloads.push(book(
        "snapshot",
        10,
        r#"["1","1"]"#,
        r#"["2","1"]"#,
        "BTCUSDT",
    ));
    let file = ws_log(dir.path(), "deep.ws.log", &payloads);
    let out = edgeline(&PERP, &[&file]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(
        stderr.contains("1 malformed messages naming no symbol"),
        "{stderr}"
    );
}

/// Issue 21: a negative quantity in a delta printed a best bid of `61800 x -5` with
/// exit status 0; now the message is malformed and the run fails.
#[test]
fn test_verify_cli_negative_quantity_is_malformed() {
    let dir = tempfile::tempdir().unwrap();
    let file = ws_log(
        dir.path(),
        "negative.ws.log",
        &[
            book(
                "snapshot",
                10,
                r#"["61800","1"]"#,
                r#"["61801","1"]"#,
                "BTCUSDT",
            ),
            book("delta", 11, r#"["61800","-5"]"#, "", "BTCUSDT"),
        ],
    );
    let out = edgeline(&PERP, &[&file]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(stderr.contains("BTCUSDT: 1 malformed messages"), "{stderr}");
    assert!(!stdout.contains("-5"), "{stdout}");
}

/// Deltas that cross the book leave it invalid until the venue's snapshot resyncs it.
#[test]
fn test_verify_cli_book_crossed_by_deltas_ends_invalid() {
    let dir = tempfile::tempdir().unwrap();
    let file = ws_log(
        dir.path(),
        "crossed.ws.log",
        &[
            book(
                "snapshot",
                10,
                r#"["100","1"]"#,
                r#"["101","1"]"#,
                "BTCUSDT",
            ),
            book("delta", 11, r#"["101.5","1"]"#, "", "BTCUSDT"),
        ],
    );
    let out = edgeline(&PERP, &[&file]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(
            "BTCUSDT: book ends invalid since book message 2: crossed, best bid 101.5 at or \
             above best ask 101"
        ),
        "{stderr}"
    );
}

#[test]
fn test_verify_cli_book_ending_invalid_exits_non_zero_naming_the_instrument() {
    let dir = tempfile::tempdir().unwrap();
    let file = ws_log(
        dir.path(),
        "gap.ws.log",
        &[
            book("snapshot", 10, r#"["1","1"]"#, r#"["2","1"]"#, "DOGEUSDT"),
            book("delta", 12, r#"["1","2"]"#, "", "DOGEUSDT"),
        ],
    );
    let out = edgeline(&PERP, &[&file]);
    let stderr = text(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains(
            "DOGEUSDT: book ends invalid since book message 2: gap, the book held update id \
             10 and the message linked to 12"
        ),
        "{stderr}"
    );
}

#[test]
fn test_verify_cli_trades_only_instrument_is_no_book_unless_required() {
    let dir = tempfile::tempdir().unwrap();
    let file = good_capture(dir.path());
    let out = edgeline(&PERP, &[&file]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    let eth = stdout.lines().find(|l| l.starts_with("ETHUSDT")).unwrap();
    assert!(eth.contains("no book"), "{stdout}");
    let btc = stdout.lines().find(|l| l.starts_with("BTCUSDT")).unwrap();
    assert!(btc.contains(" valid "), "{stdout}");
    let mut args = PERP.to_vec();
    args.push("--require-book");
    let out = edgeline(&args, &[&file]);
    let stderr = text(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("ETHUSDT: no book message in the captures"),
        "{stderr}"
    );
    assert!(!stderr.contains("BTCUSDT"), "{stderr}");
}

/// The level lines of a printed book: (bid qty, bid price, ask price, ask qty).
fn levels(dump: &str) -> Vec<[String; 4]> {
    dump.lines()
        .skip(2)
        .take_while(|l| !l.is_empty() && !l.starts_with("book "))
        .map(|l| {
            let w: Vec<&str> = l.split_whitespace().filter(|w| *w != "|").collect();
            [w[1], w[2], w[3], w[4]].map(str::to_owned)
        })
        .collect()
}

#[test]
fn test_verify_cli_dump_book_prints_exact_levels_at_each_message() {
    let dir = tempfile::tempdir().unwrap();
    let file = good_capture(dir.path());
    let mut args = PERP.to_vec();
    args.extend(["--dump-book", "BTCUSDT", "--depth", "2", "--at", "1,3,end"]);
    let out = edgeline(&args, &[&file]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    let at = |header: &str| {
        let start = stdout
            .find(header)
            .unwrap_or_else(|| panic!("{header}:\n{stdout}"));
        levels(&stdout[start..])
    };
    let first = at(
        "book BTCUSDT after book message 1 of 3 (received 1786310801001000000 ns, 2026-08-09T21:26:41.001000000Z): last update id 10, valid",
    );
    assert_eq!(
        first,
        [
            ["1", "100.5", "101", "3"].map(str::to_owned),
            ["2", "100", "101.5", "0.5"].map(str::to_owned)
        ]
    );
    let third = at(
        "book BTCUSDT after book message 3 of 3 (received 1786310801004000000 ns, 2026-08-09T21:26:41.004000000Z): last update id 12, valid",
    );
    assert_eq!(
        third,
        [
            ["2", "100", "101", "0.25"].map(str::to_owned),
            ["4", "99.5", "101.5", "0.5"].map(str::to_owned)
        ]
    );
    assert_eq!(
        at("book BTCUSDT at the end, after book message 3 of 3"),
        third
    );
    let mut past = PERP.to_vec();
    past.extend(["--dump-book", "BTCUSDT", "--at", "4"]);
    let out = edgeline(&past, &[&file]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("--at 4: BTCUSDT has only 3 book messages"),
        "{}",
        text(&out.stderr)
    );
    let mut unknown = PERP.to_vec();
    unknown.extend(["--dump-book", "XRPUSDT"]);
    let out = edgeline(&unknown, &[&file]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr)
            .contains("no instrument `XRPUSDT` in the captures (found: BTCUSDT, ETHUSDT)"),
        "{}",
        text(&out.stderr)
    );
}

/// The book after each of `symbol`'s first book messages, fed to the engine directly
/// (one decoder and one book for that symbol alone), best `depth` levels a side.
fn engine_books(
    venue: Venue,
    kind: MarketKind,
    file: &Path,
    symbol: &str,
    depth: usize,
) -> Vec<Sides> {
    let mut registry = InstrumentRegistry::default();
    registry
        .insert(InstrumentSpec {
            venue,
            kind,
            symbol: symbol.to_owned(),
            base: symbol.to_owned(),
            tick_size: Price::from_raw(1),
            lot_size: Qty::from_raw(1),
            min_notional: Price::ZERO,
            contract_size: Qty::from_raw(Qty::SCALE),
        })
        .unwrap();
    let mut map = SymbolMap::default();
    map.insert(symbol, InstrumentId(0));
    let mut decoder = VenueDecoder::new(venue, kind, map);
    let mut engine = BookEngine::new(&registry, BookParams::default());
    let mut buf = EventBuf::with_capacity(10_016);
    let mut books = Vec::new();
    let wrong_market = match kind {
        MarketKind::Perp => "/v5/public/spot",
        MarketKind::Spot => "/v5/public/linear",
    };
    for m in capture::read_file(file).unwrap() {
        if m.direction != Direction::Received || m.source.contains(wrong_market) {
            continue;
        }
        buf.clear();
        if decoder.decode(m.payload.as_bytes(), 0, &mut buf).is_err() {
            continue;
        }
        let mut is_book = false;
        for event in buf.as_slice() {
            is_book |= matches!(event.body, EventBody::DepthBegin { .. });
            engine.apply(event);
        }
        if is_book {
            let l2 = engine.l2(InstrumentId(0));
            let side = |s| {
                l2.side(s)
                    .iter()
                    .take(depth)
                    .map(|l| (l.price, l.qty))
                    .collect()
            };
            books.push((side(Side::Bid), side(Side::Ask)));
        }
    }
    books
}

fn dump_levels(d: &BookDump) -> Sides {
    let pairs =
        |levels: &[edgeline::book::Level]| levels.iter().map(|l| (l.price, l.qty)).collect();
    (pairs(&d.bids), pairs(&d.asks))
}

/// Dumps at `at` of `symbol` equal the engine's book after that many of its book
/// messages; returns the dumps.
fn check_dumps(
    venue: Venue,
    kind: MarketKind,
    file: &Path,
    symbol: &str,
    at: &[DumpAt],
) -> Vec<BookDump> {
    let depth = 5;
    let options = VerifyOptions {
        dump: Some(DumpRequest {
            symbol: symbol.to_owned(),
            depth,
            at: at.to_vec(),
        }),
    };
    let report = verify_with(venue, kind, &[file.to_path_buf()], &options).unwrap();
    let direct = engine_books(venue, kind, file, symbol, depth);
    assert_eq!(report.dumps.len(), at.len());
    for d in &report.dumps {
        let k = usize::try_from(d.message).unwrap();
        assert_eq!(d.of, u64::try_from(direct.len()).unwrap(), "{symbol}");
        assert_eq!(
            dump_levels(d),
            direct[k - 1],
            "{symbol} after book message {k}"
        );
    }
    report.dumps
}

#[test]
fn test_verify_dump_at_k_equals_the_engine_after_k_messages_synthetic() {
    let dir = tempfile::tempdir().unwrap();
    let file = good_capture(dir.path());
    let at = [DumpAt::Message(1), DumpAt::Message(2), DumpAt::End];
    let dumps = check_dumps(Venue::Bybit, MarketKind::Perp, &file, "BTCUSDT", &at);
    let px = |s: &str| Price::from_decimal_str(s).unwrap();
    assert_eq!(dumps[1].bids[0].price, px("100"));
    assert_eq!(dumps[1].last_update_id, Some(11));
    assert_eq!(dumps[2].state, BookState::Valid);
}

#[test]
fn test_verify_dump_at_k_equals_the_engine_after_k_messages_real_bybit() {
    let Some(file) = common::data_file("bybit", "v5_spot_linear_cryptofeed_") else {
        return;
    };
    for (kind, symbol) in [
        (MarketKind::Perp, "BTCUSDT"),
        (MarketKind::Perp, "DOGEUSDT"),
    ] {
        let at = [
            DumpAt::Message(1),
            DumpAt::Message(2),
            DumpAt::Message(100),
            DumpAt::Message(250),
            DumpAt::End,
        ];
        let dumps = check_dumps(Venue::Bybit, kind, &file, symbol, &at);
        assert!(dumps.iter().all(|d| d.state == BookState::Valid));
        println!("{}", dumps[2]);
    }
    let spot = [DumpAt::Message(1), DumpAt::Message(300), DumpAt::End];
    check_dumps(Venue::Bybit, MarketKind::Spot, &file, "BTCUSDT", &spot);
}

#[test]
fn test_verify_dump_at_k_equals_the_engine_after_k_messages_real_okx() {
    let Some(file) = common::data_file("okx", "cryptofeed_2022-05-13_books") else {
        return;
    };
    let at = [DumpAt::Message(1), DumpAt::Message(40), DumpAt::End];
    let dumps = check_dumps(Venue::Okx, MarketKind::Spot, &file, "BTC-USDT", &at);
    assert!(dumps.iter().all(|d| d.state == BookState::Valid));
}

#[test]
fn test_verify_bybit_zstd_capture_equals_its_plain_twin() {
    let Some(plain) = common::data_file("bybit", "v5_spot_linear_cryptofeed_") else {
        return;
    };
    let packed = PathBuf::from(format!("{}.zst", plain.display()));
    if !packed.exists() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but {} is missing",
            packed.display()
        );
        eprintln!("SKIPPED: {} not found (real data absent)", packed.display());
        return;
    }
    for kind in [MarketKind::Perp, MarketKind::Spot] {
        let want = verify(Venue::Bybit, kind, std::slice::from_ref(&plain)).unwrap();
        let got = verify(Venue::Bybit, kind, std::slice::from_ref(&packed)).unwrap();
        assert_eq!(got, want, "{}", got.table());
        assert!(got.failures(true).is_empty(), "{}", got.table());
    }
    let perp = verify(
        Venue::Bybit,
        MarketKind::Perp,
        std::slice::from_ref(&packed),
    )
    .unwrap();
    let snapshots: u64 = perp.instruments.iter().map(|i| i.book.snapshots).sum();
    let updates: u64 = perp.instruments.iter().map(|i| i.book.updates).sum();
    assert_eq!((perp.instruments.len(), snapshots, updates), (4, 4, 1_594));
    let mut args = PERP.to_vec();
    args.extend(["--dump-book", "ETHUSDT", "--depth", "3", "--at", "10"]);
    let out = edgeline(&args, &[&packed]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("book ETHUSDT after book message 10 of "),
        "{stdout}"
    );
    assert_eq!(
        levels(&stdout[stdout.find("book ETHUSDT").unwrap()..]).len(),
        3
    );
}

#[test]
fn test_verify_past_the_end_and_unknown_instrument_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let file = good_capture(dir.path());
    let request = |symbol: &str, at| VerifyOptions {
        dump: Some(DumpRequest {
            symbol: symbol.to_owned(),
            depth: 1,
            at: vec![at],
        }),
    };
    let run = |o: &VerifyOptions| {
        verify_with(
            Venue::Bybit,
            MarketKind::Perp,
            std::slice::from_ref(&file),
            o,
        )
    };
    assert!(matches!(
        run(&request("BTCUSDT", DumpAt::Message(4))),
        Err(VerifyError::PastTheEnd {
            at: 4,
            count: 3,
            ..
        })
    ));
    assert!(matches!(
        run(&request("ETHUSDT", DumpAt::Message(1))),
        Err(VerifyError::PastTheEnd {
            at: 1,
            count: 0,
            ..
        })
    ));
    let end = run(&request("ETHUSDT", DumpAt::End)).unwrap();
    assert_eq!(end.dumps[0].state, BookState::NoBook);
    assert!(end.dumps[0].bids.is_empty());
    assert!(matches!(
        run(&request("XRPUSDT", DumpAt::End)),
        Err(VerifyError::UnknownInstrument { .. })
    ));
    assert_eq!("end".parse::<DumpAt>(), Ok(DumpAt::End));
    assert_eq!("17".parse::<DumpAt>(), Ok(DumpAt::Message(17)));
    assert!("0".parse::<DumpAt>().is_err());
}

/// One OKX `books` update in the 2026 form: checksum 0, linked by `prevSeqId`.
fn okx_update(prev: u64, seq: u64, bids: &str, asks: &str) -> String {
    format!(
        r#"{{"arg":{{"channel":"books","instId":"BTC-USDT"}},"action":"update","data":[{{"asks":[{asks}],"bids":[{bids}],"ts":"1786310801000","checksum":0,"prevSeqId":{prev},"seqId":{seq}}}]}}"#
    )
}

/// An OKX capture as the venue sends books since 2026: no snapshot push, updates with a
/// zero checksum, and the REST order book (`GET /api/v5/market/books?instId=...`) in
/// the `.http.log` beside the `.ws.log`.
fn okx_rest_capture(dir: &Path, with_rest: bool) -> Vec<PathBuf> {
    let ws = "wss://ws.okx.com:8443/ws/v5/public";
    let mut text = String::from("configuration: {'log': {'filename': 'feed.log'}}\n");
    text.push_str(&format!("{ws} <-> 1786310800.0\n"));
    for (ts, frame) in [
        (
            "1786310801.000",
            okx_update(99, 100, r#"["100","9","0","1"]"#, ""),
        ),
        (
            "1786310802.000",
            okx_update(100, 101, r#"["100.5","1","0","1"]"#, ""),
        ),
        (
            "1786310802.100",
            okx_update(101, 102, "", r#"["101","0","0","0"]"#),
        ),
    ] {
        text.push_str(&format!("{ts}: {frame}\n"));
    }
    text.push('\n');
    let ws_path = dir.join("OKX.ws.1.0");
    std::fs::write(&ws_path, text).unwrap();
    let mut files = vec![ws_path];
    if with_rest {
        let body = r#"{"code":"0","msg":"","data":[{"asks":[["101","3","0","2"],["101.5","4","0","1"]],"bids":[["100","2","0","1"],["99.5","5","0","3"]],"ts":"1786310801400","seqId":100}]}"#;
        let http = format!(
            "https://www.okx.com/api/v5/market/books?instId=BTC-USDT&sz=400 -> 1786310801.500: {body}\n\n"
        );
        let http_path = dir.join("OKX.http.1.0");
        std::fs::write(&http_path, http).unwrap();
        files.push(http_path);
    }
    files
}

#[test]
fn test_verify_okx_book_started_from_its_rest_order_book() {
    let dir = tempfile::tempdir().unwrap();
    let files = okx_rest_capture(dir.path(), true);
    let paths: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
    let out = edgeline(
        &[
            "verify",
            "--venue",
            "okx",
            "--market",
            "spot",
            "--dump-book",
            "BTC-USDT",
            "--depth",
            "5",
            "--at",
            "end",
        ],
        &paths,
    );
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    let report = verify(Venue::Okx, MarketKind::Spot, &files).unwrap();
    let btc = &report.instruments[0];
    assert_eq!(btc.symbol, "BTC-USDT");
    assert_eq!(btc.malformed, 0, "{}", report.table());
    assert_eq!(btc.state, BookState::Valid, "{}", report.table());
    assert_eq!(
        (btc.book.snapshots, btc.book.updates, btc.book.gaps),
        (1, 2, 0),
        "the update at the REST seqId is stale, the two after it link: {}",
        report.table()
    );
    // The REST book, then 101 (bid 100.5) and 102 (ask 101 removed).
    let px = |s: &str| Price::from_decimal_str(s).unwrap();
    let q = |s: &str| Qty::from_decimal_str(s).unwrap();
    assert_eq!(btc.best_bid, Some((px("100.5"), q("1"))));
    assert_eq!(btc.best_ask, Some((px("101.5"), q("4"))));
    assert!(stdout.contains("101.5"), "{stdout}");
    let files = okx_rest_capture(dir.path(), false);
    let paths: Vec<&Path> = files[..1].iter().map(PathBuf::as_path).collect();
    let out = edgeline(&["verify", "--venue", "okx", "--market", "spot"], &paths);
    assert!(!out.status.success(), "no REST book: the book never syncs");
    assert!(
        text(&out.stdout).contains("BTC-USDT") || text(&out.stderr).contains("BTC-USDT"),
        "names the instrument"
    );
}
