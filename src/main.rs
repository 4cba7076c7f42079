//! The `edgeline` command line: `edgeline run` (the default) runs the pipeline against the
//! configured venues, or against the built-in simulator when no configuration is given.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use edgeline::bench_e2e::E2eParams;
use edgeline::config::{Config, ConfigError};
use edgeline::pipeline;
use edgeline::record::RecordSettings;
use edgeline::replay::{InputFile, ReplayOptions, ReplayOutcome, Window};
use edgeline::runtime::{Clock, Shutdown};
use edgeline::telemetry::db::DbTarget;
use edgeline::telemetry::db::analytics::Reader;
use edgeline::telemetry::db::sqlite::DB_FILE_NAME;
use edgeline::telemetry::tracker_stats::tracker_stats;
use edgeline::types::{MarketKind, Venue};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Low-latency crypto arbitrage core.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the pipeline (default: the built-in simulator for 30 s).
    Run(RunArgs),
    /// Opportunity tracker statistics and the recommendation rule, from a run's database.
    Stats(StatsArgs),
    /// The latest N opportunities, newest first, from the configured database (SQLite or
    /// PostgreSQL).
    Latest(LatestArgs),
    /// Opportunities by volatility source and the recommendation rule, from the
    /// configured database (SQLite or PostgreSQL).
    Summary(DbArgs),
    /// Paper trades: win rate, PnL, fees, profit factor and drawdown, by hour of day and
    /// by confidence bucket, then the latest N closed trades, from the configured
    /// database.
    Trades(LatestArgs),
    /// Run the pipeline and record every received frame (`[record]`; default folder
    /// `recordings`).
    Record(RecordArgs),
    /// Replay recordings and captures through the same stages as a live run (merged by
    /// receive time, as fast as possible or at recorded speed times N).
    Replay(ReplayArgs),
    /// Replay with the paper gateway, then report the trades (win rate, profit factor,
    /// Sharpe, Sortino, drawdown, Calmar, hold time, leg-outs, fee and slippage shares,
    /// opportunities per hour and by volatility source) as `backtest.md` and
    /// `backtest.json` in the output folder, with PNG plots beside them. With `--sweep`:
    /// a parameter grid, each point backtested with a walk-forward split, reported as
    /// `sweep.md` and `sweep.json`.
    Backtest(BacktestArgs),
    /// Replay captures of raw venue messages through the real decoders and books and
    /// report, per instrument, decodes, gaps, checksums, the book's state and the final
    /// touch; exits non-zero, naming the instrument, on a malformed message, a gap, a
    /// checksum mismatch, or a book that never synced or ends invalid. Can print a
    /// book's top levels after given book messages (`--dump-book`).
    Verify(VerifyArgs),
    /// Consume the telemetry stream of every engine (`[nats]`) into one PostgreSQL
    /// database (`[database] url`, the engines' schema plus a `site` column) through a
    /// durable pull consumer, acknowledging each batch after its commit; runs until
    /// SIGINT/SIGTERM or `--duration`. Several collectors may share one durable name.
    Collect(CollectArgs),
    /// Benchmarks.
    Bench {
        #[command(subcommand)]
        which: BenchCommand,
    },
}

#[derive(Debug, Subcommand)]
enum BenchCommand {
    /// End-to-end latency at a fixed offered rate through the real pipeline; writes
    /// `.hgrm` files named with scenario, rate, date and git revision.
    E2e(E2eArgs),
}

#[derive(Debug, clap::Args)]
struct E2eArgs {
    /// Scenario: one-market, four-venues-50, burst (10× the rate for 1 s mid-run) or
    /// db-writing (every tick recorded).
    #[arg(long, default_value = "one-market")]
    scenario: String,
    /// Offered rate, simulator steps per second (each sends a perp top of book).
    #[arg(long, default_value_t = 1000)]
    rate: u64,
    /// Run length in seconds.
    #[arg(long, default_value_t = 20)]
    duration: u64,
    /// Where the .hgrm files go.
    #[arg(long, default_value = "bench/results")]
    results: PathBuf,
    /// Base configuration (placement, rings); default: the built-in one.
    #[arg(long)]
    config: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
struct RecordArgs {
    /// Folder of the recordings (overrides `[record] dir`).
    #[arg(long)]
    dir: Option<PathBuf>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Debug, clap::Args)]
struct ReplayArgs {
    /// Recordings (`.edrec`), and captures written `VENUE.KIND=PATH` (hftbacktest `.gz`,
    /// cryptofeed logs, JSON lines), merged by receive time.
    #[arg(required = true)]
    files: Vec<String>,
    /// TOML configuration: instruments, thresholds, database (default: the built-in one,
    /// Binance BTCUSDT spot and perp).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Output folder (overrides the configuration).
    #[arg(long)]
    output: Option<PathBuf>,
    /// Recorded speed times N (default: as fast as possible).
    #[arg(long)]
    speed: Option<f64>,
    /// First receive time replayed: unix ns or RFC 3339 (e.g. 2024-08-08T23:55:00Z).
    #[arg(long)]
    from: Option<String>,
    /// Last receive time replayed: unix ns or RFC 3339.
    #[arg(long)]
    to: Option<String>,
}

#[derive(Debug, clap::Args)]
struct BacktestArgs {
    #[command(flatten)]
    replay: ReplayArgs,
    /// A grid axis: `KEY=V1,V2,…`, KEY a dotted configuration key (e.g.
    /// `basis.trade_threshold_bps=15,20,25`); repeat for more axes. Every combination is
    /// backtested, in parallel on all cores.
    #[arg(long, value_name = "KEY=V1,V2,…")]
    sweep: Vec<String>,
    /// Sweep: share of the recorded time that is in-sample (the rest is out-of-sample).
    #[arg(long, default_value_t = 0.7)]
    in_sample: f64,
    /// Sweep: what picks the best in-sample point, `pnl` (net PnL) or `sharpe`.
    #[arg(long, default_value = "pnl")]
    pick: String,
}

#[derive(Debug, clap::Args)]
struct VerifyArgs {
    /// Venue: binance, bybit, okx or hyperliquid.
    #[arg(long)]
    venue: String,
    /// Market: spot or perp.
    #[arg(long)]
    market: String,
    /// Capture files (hftbacktest `.gz`, cryptofeed `.ws.log`/`.http.log` with or without
    /// their `configuration:` header, v3 `.jsonl` or `.jsonl.zst`, JSON lines), merged by
    /// receive time.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Fail also when an instrument has no book message at all (by default an
    /// instrument with only trades, tickers or top-of-book messages is reported as `no
    /// book` and is not a failure).
    #[arg(long)]
    require_book: bool,
    /// Print this instrument's book (its symbol as the table names it): the best
    /// `--depth` levels of both sides, exact decimals, with its last update id and its
    /// state (valid, invalid, never synced).
    #[arg(long, value_name = "INSTRUMENT")]
    dump_book: Option<String>,
    /// Levels per side printed by `--dump-book`.
    #[arg(long, default_value_t = 10, requires = "dump_book")]
    depth: usize,
    /// When `--dump-book` prints: after these book messages of the instrument, and/or
    /// `end` (the default). A book message is a message that decodes into a depth
    /// snapshot or diff of the instrument (REST depth snapshots included; trades,
    /// tickers and top-of-book messages are not counted), numbered from 1 in the order
    /// verify reads them: all files merged by receive time (file order kept among equal
    /// times), sent frames and the other market's connections left out. The table's
    /// `book msg` column is the instrument's count.
    #[arg(
        long,
        value_name = "K,...|end",
        value_delimiter = ',',
        requires = "dump_book"
    )]
    at: Vec<edgeline::verify::DumpAt>,
}

#[derive(Debug, clap::Args)]
struct StatsArgs {
    /// The run's output folder (holding opportunities.sqlite).
    #[arg(long, default_value = edgeline::config::resolve::OUTPUT_DIR_DEFAULT)]
    output: PathBuf,
}

#[derive(Debug, clap::Args)]
struct DbArgs {
    /// TOML configuration file: its `[database]` names the database (without it: the
    /// SQLite file in the output folder).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Output folder (overrides the configuration).
    #[arg(long)]
    output: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
struct LatestArgs {
    /// How many.
    #[arg(default_value_t = 10)]
    n: usize,
    #[command(flatten)]
    db: DbArgs,
}

#[derive(Debug, clap::Args)]
struct CollectArgs {
    /// TOML configuration: `[nats]` (url, stream, subject_prefix) and `[database] url`
    /// (postgres://).
    #[arg(long)]
    config: PathBuf,
    /// Durable consumer name; collectors with the same name share the messages.
    #[arg(long, default_value = edgeline::telemetry::nats::collect::DURABLE_DEFAULT)]
    durable: String,
    /// Messages per fetch and per transaction (1..=10000).
    #[arg(long, default_value_t = edgeline::telemetry::nats::collect::BATCH_DEFAULT)]
    batch: usize,
    /// The consumer's ack wait in ms, when this collector creates it: a batch taken by a
    /// collector that died is delivered again after it.
    #[arg(long, default_value_t = 10_000)]
    ack_wait_ms: u64,
    /// Stop after this many seconds (default: run until a signal).
    #[arg(long)]
    duration: Option<u64>,
}

#[derive(Debug, Default, clap::Args)]
struct RunArgs {
    /// TOML configuration file (without it: the built-in simulator, Binance BTCUSDT).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Run length in seconds (overrides the configuration).
    #[arg(long)]
    duration: Option<u64>,
    /// Output folder (overrides the configuration).
    #[arg(long)]
    output: Option<PathBuf>,
    /// Simulator seed (overrides the configuration).
    #[arg(long)]
    seed: Option<u64>,
    /// Record every received frame (`[record]`, default folder `recordings`).
    #[arg(long)]
    record: bool,
}

fn main() -> ExitCode {
    if let Err(e) = edgeline::telemetry::logging::init() {
        eprintln!("edgeline: no logger: {e}");
        return ExitCode::FAILURE;
    }
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::Run(args)) => run(args),
        Some(Command::Stats(args)) => print_stats(&args.output),
        Some(Command::Latest(args)) => latest(&args),
        Some(Command::Summary(args)) => summary(&args),
        Some(Command::Trades(args)) => trades(&args),
        Some(Command::Verify(args)) => verify(&args),
        Some(Command::Record(args)) => record(args),
        Some(Command::Replay(args)) => replay(&args),
        Some(Command::Backtest(args)) => backtest(&args),
        Some(Command::Collect(args)) => collect(&args),
        Some(Command::Bench {
            which: BenchCommand::E2e(args),
        }) => bench_e2e(args),
        None => run(RunArgs::default()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("edgeline: {e}");
            ExitCode::FAILURE
        }
    }
}

fn load_config(args: &RunArgs) -> Result<Config, ConfigError> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut config = match &args.config {
        Some(path) => Config::from_file(path, cores)?,
        None => Config::defaults(cores)?,
    };
    if let Some(secs) = args.duration {
        if secs == 0 {
            return Err(ConfigError::Invalid {
                key: "--duration".into(),
                reason: "must be at least 1".into(),
            });
        }
        config.duration = Duration::from_secs(secs);
    }
    if let Some(dir) = &args.output {
        config.output_dir = dir.clone();
    }
    if let (Some(seed), Some(sim)) = (args.seed, config.simulator.as_mut()) {
        sim.seed = seed;
    }
    if args.record && config.record.is_none() {
        config.record = Some(RecordSettings::default());
    }
    Ok(config)
}

fn record(mut args: RecordArgs) -> Result<(), Box<dyn std::error::Error>> {
    args.run.record = true;
    let mut config = load_config(&args.run)?;
    if let (Some(dir), Some(settings)) = (args.dir, config.record.as_mut()) {
        settings.dir = dir;
    }
    run_config(&config)
}

fn run(args: RunArgs) -> Result<(), Box<dyn std::error::Error>> {
    run_config(&load_config(&args)?)
}

fn run_config(config: &Config) -> Result<(), Box<dyn std::error::Error>> {
    let shutdown = Shutdown::with_signals()?;
    log::info!(
        "running for {} s, output in {}",
        config.duration.as_secs(),
        config.output_dir.display()
    );
    let outcome = pipeline::run(config, &shutdown)?;
    print_outcome(config, &outcome.report, outcome.stop)
}

fn collect(args: &CollectArgs) -> Result<(), Box<dyn std::error::Error>> {
    use edgeline::telemetry::nats::collect::{self, CollectSettings};
    let config = load_config(&RunArgs {
        config: Some(args.config.clone()),
        ..RunArgs::default()
    })?;
    let DbTarget::Postgres(database) = &config.database.target else {
        return Err("collect: [database] url must be postgres://… (the central database)".into());
    };
    if !(1..=10_000).contains(&args.batch) {
        return Err("--batch: must be between 1 and 10000".into());
    }
    if !(1_000..=600_000).contains(&args.ack_wait_ms) {
        return Err("--ack-wait-ms: must be between 1000 and 600000".into());
    }
    if !edgeline::telemetry::nats::is_subject_token(&args.durable) {
        return Err("--durable: 1 to 64 of A-Z a-z 0-9 _ -".into());
    }
    let settings = CollectSettings {
        nats: config.nats.clone(),
        database: (**database).clone(),
        durable: args.durable.clone(),
        batch: args.batch,
        ack_wait: Duration::from_millis(args.ack_wait_ms),
        duration: args.duration.map(Duration::from_secs),
    };
    let stats = collect::run(&settings, &Shutdown::with_signals()?)?;
    println!(
        "collected: {} messages, {} rows inserted, {} already stored, {} malformed, {} database errors (retried), {} acks refused",
        stats.messages,
        stats.rows_inserted,
        stats.rows_duplicate,
        stats.malformed,
        stats.db_errors,
        stats.ack_errors
    );
    match stats.malformed {
        0 => Ok(()),
        n => Err(format!("{n} malformed telemetry messages were not stored").into()),
    }
}

fn replay(args: &ReplayArgs) -> Result<(), Box<dyn std::error::Error>> {
    let (config, outcome) = run_replay(args)?;
    print_outcome(&config, &outcome.report, outcome.stop)?;
    damage_error(&outcome)
}

fn backtest(args: &BacktestArgs) -> Result<(), Box<dyn std::error::Error>> {
    if !args.sweep.is_empty() {
        return sweep(args);
    }
    let (config, outcome) = run_replay(&args.replay)?;
    if config.gateway.is_none() {
        return Err(
            "backtest: the configuration turns the paper gateway off ([gateway] enabled = false)"
                .into(),
        );
    }
    let mut reader = Reader::open(&config.database, &outcome.report.output_dir)?;
    let data = edgeline::backtest::BacktestData::read(&mut reader)?;
    let mut report = edgeline::backtest::BacktestReport::new(&outcome, &data);
    let dir = &outcome.report.output_dir;
    let files =
        edgeline::backtest::write_backtest(dir, &mut report, &data, &outcome.report.histograms)?;
    print!("{}", report.to_markdown());
    for file in files {
        println!("wrote {}", file.display());
    }
    damage_error(&outcome)?;
    loss_error(&outcome.report)
}

/// `backtest --sweep`: the grid on the base configuration, in parallel.
fn sweep(args: &BacktestArgs) -> Result<(), Box<dyn std::error::Error>> {
    use edgeline::backtest::{grid, sweep, sweep_report::Metric};
    let r = &args.replay;
    if r.speed.is_some() {
        return Err("--sweep replays as fast as possible: drop --speed".into());
    }
    let base_config = load_config(&RunArgs {
        config: r.config.clone(),
        output: r.output.clone(),
        ..RunArgs::default()
    })?;
    if base_config.gateway.is_none() {
        return Err("backtest: the configuration turns the paper gateway off".into());
    }
    let text = match &r.config {
        Some(path) => std::fs::read_to_string(path)?,
        None => String::new(),
    };
    let (inputs, window) = replay_inputs(r)?;
    let spec = sweep::SweepSpec {
        base: grid::base_table(&text)?,
        points: grid::points(
            &args
                .sweep
                .iter()
                .map(|a| grid::Axis::parse(a))
                .collect::<Result<Vec<_>, _>>()?,
        )?,
        inputs,
        window,
        in_sample_fraction: args.in_sample,
        metric: Metric::parse(&args.pick).ok_or("--pick: expected pnl or sharpe")?,
        output_dir: base_config.output_dir,
        threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    log::info!(
        "sweep: {} points, 2 replays each, {} at once",
        spec.points.len(),
        spec.threads
    );
    let outcome = sweep::run_sweep(&spec, &Shutdown::with_signals()?)?;
    print!("{}", outcome.report.to_markdown());
    for file in &outcome.files {
        println!("wrote {}", file.display());
    }
    if outcome.damage.is_empty() {
        Ok(())
    } else {
        Err(format!("damaged input(s): {}", outcome.damage.join("; ")).into())
    }
}

/// A replay that met damaged inputs fails (after everything before the damage ran).
fn damage_error(outcome: &ReplayOutcome) -> Result<(), Box<dyn std::error::Error>> {
    if outcome.damage.is_empty() {
        return Ok(());
    }
    Err(format!(
        "{} input(s) damaged (everything before the damage was replayed): {}",
        outcome.damage.len(),
        outcome.damage.join("; ")
    )
    .into())
}

/// Replays `args.files` through the configured pipeline; prints the throughput.
fn run_replay(args: &ReplayArgs) -> Result<(Config, ReplayOutcome), Box<dyn std::error::Error>> {
    let config = load_config(&RunArgs {
        config: args.config.clone(),
        output: args.output.clone(),
        ..RunArgs::default()
    })?;
    if args.speed.is_some_and(|s| !(s > 0.0 && s.is_finite())) {
        return Err("--speed: must be a positive number".into());
    }
    let (inputs, window) = replay_inputs(args)?;
    let options = ReplayOptions {
        inputs,
        speed: args.speed,
        window,
    };
    let outcome = edgeline::replay::replay(&config, &options, &Shutdown::with_signals()?)?;
    let secs = outcome.elapsed.as_secs_f64();
    println!(
        "replayed {} frames in {secs:.3} s ({:.0} frames/s)",
        outcome.frames,
        outcome.frames as f64 / secs.max(1e-9)
    );
    Ok((config, outcome))
}

/// The input files and the receive-time window of `args`.
fn replay_inputs(
    args: &ReplayArgs,
) -> Result<(Vec<InputFile>, Window), Box<dyn std::error::Error>> {
    let inputs = args
        .files
        .iter()
        .map(|f| InputFile::parse(f))
        .collect::<Result<Vec<_>, _>>()?;
    let time = |t: &Option<String>, default| {
        t.as_deref()
            .map(parse_time)
            .transpose()
            .map(|ns| ns.unwrap_or(default))
    };
    let window = Window {
        from_ns: time(&args.from, 0)?,
        to_ns: time(&args.to, u64::MAX)?,
    };
    Ok((inputs, window))
}

/// A time given as unix nanoseconds or RFC 3339.
fn parse_time(text: &str) -> Result<u64, String> {
    if let Ok(ns) = text.parse::<u64>() {
        return Ok(ns);
    }
    let time = humantime::parse_rfc3339_weak(text)
        .map_err(|e| format!("`{text}`: not unix ns nor RFC 3339: {e}"))?;
    let since = time
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|_| format!("`{text}`: before 1970"))?;
    u64::try_from(since.as_nanos()).map_err(|_| format!("`{text}`: too far ahead"))
}

fn print_outcome(
    config: &Config,
    r: &edgeline::runtime::RunReport,
    stop: edgeline::runtime::StopReason,
) -> Result<(), Box<dyn std::error::Error>> {
    println!(
        "stopped ({:?}): {} frames, {} events, {} malformed, {} opportunities ({} would trade), {} drops; output in {}",
        stop,
        r.counter("feed.frames"),
        r.counter("feed.events"),
        r.counter("feed.malformed"),
        r.counter("edge.opportunities"),
        r.counter("edge.would_trade"),
        r.counter("telemetry.samples_dropped") + r.counter("telemetry.records_dropped"),
        r.output_dir.display()
    );
    println!(
        "drops: {} latency samples, {} records ({} basis, {} spread, {} gateway, {} portfolio snapshots)",
        r.counter("telemetry.samples_dropped"),
        r.counter("telemetry.records_dropped"),
        r.counter("edge.records_dropped"),
        r.counter("edge.spread_records_dropped"),
        r.counter("gateway.records_dropped"),
        r.counter("gateway.snapshots_skipped"),
    );
    println!(
        "database: {} rows written, {} spooled during outages, {} waiting in the spool, {} LOST ({})",
        r.counter("telemetry.rows_written"),
        r.counter("telemetry.rows_spooled"),
        r.counter("telemetry.rows_waiting_in_spool"),
        r.counter("telemetry.rows_lost"),
        loss_causes(r),
    );
    if config.nats.enabled {
        println!(
            "nats: {} rows published, {} already in the stream, {} spooled during outages, {} pending in the NATS spool, {} failed ({} publish errors)",
            r.counter("nats.rows_published"),
            r.counter("nats.rows_duplicate"),
            r.counter("nats.rows_spooled"),
            r.counter("nats.rows_pending"),
            r.counter("nats.rows_failed"),
            r.counter("nats.publish_errors"),
        );
    }
    print_scanner(r);
    match &config.database.target {
        DbTarget::Sqlite(_) => match config.database.sqlite_path(&r.output_dir) {
            Some(path) if path == r.output_dir.join(DB_FILE_NAME) => print_stats(&r.output_dir)?,
            _ => print_summary(config, &r.output_dir)?,
        },
        DbTarget::Postgres(_) => print_summary(config, &r.output_dir)?,
    }
    loss_error(r)
}

/// Where the lost rows went: `3161 records dropped while the writer was behind, 0 spool
/// full, 0 refused by the spool's disk, 0 never handed to the writer`.
fn loss_causes(r: &edgeline::runtime::RunReport) -> String {
    format!(
        "{} records dropped while the writer was behind, {} spool full, {} refused by the spool's disk, {} never handed to the writer, {} failed to NATS",
        r.counter("telemetry.records_dropped"),
        r.counter("telemetry.rows_dropped_spool_full"),
        r.counter("telemetry.rows_dropped_disk"),
        r.counter("telemetry.rows_unwritten"),
        r.counter("nats.rows_failed"),
    )
}

/// A run that lost database rows fails, after everything was printed.
fn loss_error(r: &edgeline::runtime::RunReport) -> Result<(), Box<dyn std::error::Error>> {
    match r.counter("telemetry.rows_lost") {
        0 => Ok(()),
        lost => Err(format!("{lost} database rows LOST: {}", loss_causes(r)).into()),
    }
}

/// The scanner's counts, rejections per reason and best opportunities.
fn print_scanner(r: &edgeline::runtime::RunReport) {
    println!(
        "scanner: {} instruments on 2+ venues, {} candidates, {} accepted",
        r.counter("scanner.instruments"),
        r.counter("scanner.candidates"),
        r.counter("scanner.accepted"),
    );
    let rejected: Vec<String> = edgeline::edge::spread_opportunity::RejectReason::ALL
        .iter()
        .map(|reason| format!("{} {}", reason.as_str(), r.counter(reason.report_key())))
        .collect();
    println!("scanner rejections: {}", rejected.join(", "));
    for note in &r.notes {
        println!("{note}");
    }
}

fn print_stats(output_dir: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let path = output_dir.join(DB_FILE_NAME);
    if !path.exists() {
        return Err(format!("no database at {}", path.display()).into());
    }
    let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY;
    let conn = rusqlite::Connection::open_with_flags(&path, flags)?;
    println!("{}", tracker_stats(&conn, Clock::new().unix_ms_now())?);
    Ok(())
}

fn open_reader(args: &DbArgs) -> Result<Reader, Box<dyn std::error::Error>> {
    let config = load_config(&RunArgs {
        config: args.config.clone(),
        output: args.output.clone(),
        ..RunArgs::default()
    })?;
    Ok(Reader::open(&config.database, &config.output_dir)?)
}

fn latest(args: &LatestArgs) -> Result<(), Box<dyn std::error::Error>> {
    for opp in open_reader(&args.db)?.latest(args.n)? {
        println!("{opp}");
    }
    Ok(())
}

fn trades(args: &LatestArgs) -> Result<(), Box<dyn std::error::Error>> {
    let mut reader = open_reader(&args.db)?;
    print!("{}", reader.trade_stats()?);
    println!("latest {}:", args.n);
    for trade in reader.latest_trades(args.n)? {
        println!("  {trade}");
    }
    Ok(())
}

fn summary(args: &DbArgs) -> Result<(), Box<dyn std::error::Error>> {
    println!("{}", open_reader(args)?.summary()?);
    Ok(())
}

/// The summary from the configured database (after a run whose database is not the
/// default SQLite file). Best effort: a database that is away now does not fail the run
/// (its rows are in the spool), and one that accepts connections but never answers
/// costs at most one `write_timeout_ms` (the read runs on a thread left behind).
fn print_summary(config: &Config, output_dir: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    let (settings, dir) = (config.database.clone(), output_dir.to_owned());
    std::thread::Builder::new()
        .name("edgeline-summary".into())
        .spawn(move || {
            let summary = Reader::open(&settings, &dir).and_then(|mut r| r.summary());
            let _ = tx.send(summary);
        })?;
    match rx.recv_timeout(config.database.write_timeout) {
        Ok(Ok(summary)) => println!("{summary}"),
        Ok(Err(e)) => eprintln!("edgeline: no summary: {e}"),
        Err(_) => eprintln!(
            "edgeline: no summary: the database did not answer within {:?}",
            config.database.write_timeout
        ),
    }
    Ok(())
}

fn verify(args: &VerifyArgs) -> Result<(), Box<dyn std::error::Error>> {
    let venue = Venue::from_name(&args.venue).ok_or_else(|| {
        format!(
            "--venue: unknown venue `{}` (known: binance, bybit, okx, hyperliquid)",
            args.venue
        )
    })?;
    let kind = match args.market.as_str() {
        "spot" => MarketKind::Spot,
        "perp" => MarketKind::Perp,
        other => return Err(format!("--market: `{other}` is not `spot` or `perp`").into()),
    };
    let options = edgeline::verify::VerifyOptions {
        dump: args
            .dump_book
            .as_ref()
            .map(|symbol| edgeline::verify::DumpRequest {
                symbol: symbol.clone(),
                depth: args.depth,
                at: args.at.clone(),
            }),
    };
    let report = edgeline::verify::verify_with(venue, kind, &args.files, &options)?;
    print!("{}", report.table());
    for dump in &report.dumps {
        print!("\n{dump}");
    }
    let failures = report.failures(args.require_book);
    if !failures.is_empty() {
        return Err(format!("verify failed: {}", failures.join("; ")).into());
    }
    Ok(())
}

fn bench_e2e(args: E2eArgs) -> Result<(), Box<dyn std::error::Error>> {
    let base = RunArgs {
        config: args.config,
        ..RunArgs::default()
    };
    let config = load_config(&base)?;
    let params = E2eParams {
        scenario: args.scenario,
        rate_hz: args.rate,
        duration: Duration::from_secs(args.duration.max(1)),
        results_dir: args.results,
    };
    let outcome = edgeline::bench_e2e::run(config, &params, &Shutdown::with_signals()?)?;
    println!(
        "scenario {} at {} Hz for {} s (table above; ingress → decision corrected for coordinated omission)",
        params.scenario,
        params.rate_hz,
        params.duration.as_secs()
    );
    for file in &outcome.files {
        println!("wrote {}", file.display());
    }
    Ok(())
}
