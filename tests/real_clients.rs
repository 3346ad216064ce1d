//! Real third-party clients against the real example servers: `redis-cli` and
//! `redis-benchmark` against `resp`, `curl` against `http` (and `http --tls`), `socat` against
//! `echo` and `udp_echo`, `openssl s_client` against `tls_echo`, over 127.0.0.1, ::1 and Unix
//! sockets, each server on both drivers (`mio::...` and `smol::...` tests); and `resp` and
//! `chat` on two engines (`--threads 2`).
//!
//! Every server is started on port 0 (or on a socket in the test's own directory), found by
//! the one line it prints, `listening on ADDR`, and stopped with SIGINT, after which it must
//! exit 0 within [`STOP_LIMIT`] having printed nothing more. Every client runs with a
//! deadline, and every child process is killed when its guard is dropped (a failing test).
//!
//! The example binaries are taken from next to this test binary (`target/<profile>/examples`,
//! where `cargo test --workspace` builds them), or built with `cargo build --example NAME`
//! when missing (`cargo test --test real_clients` does not build them).
//!
//! A client tool that is not installed skips its tests with `SKIPPED: <tool> not installed`,
//! unless the `CI` environment variable is set: then it is a failure (`.ci/run` installs the
//! Debian packages `redis-tools`, `curl`, `socat` and `openssl`).

mod common;

use std::collections::HashMap;
use std::ffi::OsStr;
use std::fmt::Write as _;
use std::fs::{self, File};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use common::{Checksum, Driver, Rng, TempDir, wait_until_within};
use pants_protocols::http::GREETING;
use rustix::process::{Pid, Signal, kill_process};

/// Makes a test module per driver (`mio::redis_cli_commands`, `smol::...`): every client runs
/// against the example servers started with `--driver mio` and with `--driver smol`.
macro_rules! on_every_driver {
    ($($name:ident),* $(,)?) => {
        mod mio {
            $(#[test] fn $name() { super::$name(super::Driver::Mio) })*
        }
        mod smol {
            $(#[test] fn $name() { super::$name(super::Driver::Smol) })*
        }
    };
}

on_every_driver!(
    redis_cli_commands,
    redis_cli_binary_value_and_pipe_mode,
    redis_cli_over_ipv6_and_a_unix_socket,
    redis_benchmark_ping_set_get,
    curl_get_head_and_404,
    curl_keep_alive_reuses_the_connection,
    curl_file_from_root_matches_by_checksum,
    curl_post_bodies_are_echoed,
    curl_over_ipv6_and_a_unix_socket,
    socat_echo_tcp_v4,
    socat_echo_tcp_v6,
    socat_echo_unix,
    socat_udp_echo_v4,
    socat_udp_echo_v6,
    socat_udp_echo_unixgram,
    stops_gracefully_with_a_client_connected,
    openssl_s_client_against_tls_echo,
    curl_https_against_http_tls,
    plaintext_client_on_a_tls_port_is_dropped_and_others_are_served,
    resp_on_two_threads_keeps_one_key_space,
    chat_on_two_threads_sends_every_line_to_every_client_once,
);

/// How long one client invocation may take.
const CLIENT_LIMIT: Duration = Duration::from_secs(30);
/// How long `redis-benchmark` may take (about 5 s in a debug build on 2 cores).
const BENCHMARK_LIMIT: Duration = Duration::from_secs(50);
/// How long a server may take to print `listening on ADDR`.
const READY_LIMIT: Duration = Duration::from_secs(20);
/// How long a server may take to exit after SIGINT (or SIGTERM).
const STOP_LIMIT: Duration = Duration::from_secs(10);
/// How long building a missing example may take.
const BUILD_LIMIT: Duration = Duration::from_secs(600);

// ---------------------------------------------------------------------------------------------
// Tools, binaries, processes
// ---------------------------------------------------------------------------------------------

/// True when every tool is on `PATH`. Otherwise prints `SKIPPED: <tool> not installed` for each
/// missing one (on stdout and stderr) and returns false, or, when `CI` is set, fails the test.
fn installed(tools: &[&str]) -> bool {
    let missing: Vec<&str> = tools.iter().copied().filter(|t| !on_path(t)).collect();
    if missing.is_empty() {
        return true;
    }
    if std::env::var_os("CI").is_some() {
        panic!(
            "not installed: {}; CI is set, so this fails instead of skipping \
             (.ci/run installs the Debian packages redis-tools, curl, socat and openssl)",
            missing.join(", ")
        );
    }
    for tool in missing {
        let line = format!("SKIPPED: {tool} not installed");
        println!("{line}");
        // Not `eprintln!`: the test harness captures that (as it does `println!`) and shows
        // it only for failing tests or with --nocapture. Written to the process's stderr
        // directly, the line is always seen.
        let _ = std::io::stderr().write_all(format!("{line}\n").as_bytes());
    }
    false
}

fn on_path(tool: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let Some(path) = std::env::var_os("PATH") else {
        return false;
    };
    std::env::split_paths(&path).any(|dir| {
        fs::metadata(dir.join(tool))
            .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
    })
}

/// The example binary `name`: next to this test binary, or built with cargo.
fn example(name: &str) -> PathBuf {
    static BUILT: Mutex<Option<HashMap<String, PathBuf>>> = Mutex::new(None);
    let exe = std::env::current_exe().expect("the test binary's path");
    // target/<profile>/deps/real_clients-HASH
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("the test binary lies in target/<profile>/deps");
    let beside = profile_dir.join("examples").join(name);
    if beside.is_file() {
        return beside;
    }
    // One build at a time; each example is built once per test run.
    let mut built = BUILT.lock().unwrap_or_else(PoisonError::into_inner);
    let built = built.get_or_insert_with(HashMap::new);
    if let Some(path) = built.get(name) {
        return path.clone();
    }
    let path = build_example(name, profile_dir);
    built.insert(name.to_owned(), path.clone());
    path
}

/// Runs `cargo build --example NAME` (with `$CARGO` and `$CARGO_TARGET_DIR`, in the profile
/// this test binary was built with) and returns the executable cargo reports.
fn build_example(name: &str, profile_dir: &Path) -> PathBuf {
    eprintln!(
        "real_clients: example {name} not found in {}; building it with cargo",
        profile_dir.join("examples").display()
    );
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command.current_dir(env!("CARGO_MANIFEST_DIR")).args([
        "build",
        "--example",
        name,
        "--message-format=json-render-diagnostics",
    ]);
    match profile_dir.file_name().and_then(OsStr::to_str) {
        Some("release") => {
            command.arg("--release");
        }
        Some("debug") | None => {}
        Some(profile) => {
            command.args(["--profile", profile]);
        }
    }
    if let Some(target_dir) = std::env::var_os("CARGO_TARGET_DIR") {
        command.arg("--target-dir").arg(target_dir);
    }
    let dir = TempDir::new("build");
    let output = run_command(&dir, command, None, BUILD_LIMIT);
    output.assert_success();
    let json = String::from_utf8_lossy(&output.stdout);
    json.lines()
        .filter(|line| {
            line.contains(r#""reason":"compiler-artifact""#)
                && line.contains(r#""kind":["example"]"#)
                && line.contains(&format!(r#""name":"{name}""#))
        })
        .find_map(|line| json_string_after(line, r#""executable":""#))
        .map(PathBuf::from)
        .unwrap_or_else(|| panic!("cargo reported no executable for example {name}\n{output}"))
}

/// The JSON string that starts right after `key` in `line`, unescaped (enough for paths).
fn json_string_after(line: &str, key: &str) -> Option<String> {
    let rest = &line[line.find(key)? + key.len()..];
    let mut value = String::new();
    let mut chars = rest.chars();
    loop {
        match chars.next()? {
            '"' => return Some(value),
            '\\' => match chars.next()? {
                'n' => value.push('\n'),
                't' => value.push('\t'),
                other => value.push(other),
            },
            c => value.push(c),
        }
    }
}

/// A child process that is killed (and reaped) when dropped, unless it has exited.
struct Guard {
    child: Child,
    what: String,
}

impl Guard {
    fn spawn(mut command: Command) -> Guard {
        let what = describe(&command);
        let child = command
            .spawn()
            .unwrap_or_else(|err| panic!("start `{what}`: {err}"));
        Guard { child, what }
    }

    /// Waits at most `limit` for the process to exit; `None` if it is still running.
    fn wait_within(&mut self, limit: Duration) -> Option<ExitStatus> {
        let mut status = None;
        wait_until_within(limit, || {
            status = self.child.try_wait().expect("wait for a child process");
            status.is_some()
        });
        status
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A command line as a shell would show it.
fn describe(command: &Command) -> String {
    let mut line = command.get_program().to_string_lossy().into_owned();
    for arg in command.get_args() {
        let arg = arg.to_string_lossy();
        if arg.is_empty() || arg.contains(|c: char| c.is_whitespace() || "*'\"%{}".contains(c)) {
            let _ = write!(line, " '{arg}'");
        } else {
            let _ = write!(line, " {arg}");
        }
    }
    line
}

/// What a finished client did.
struct Output {
    command: String,
    status: ExitStatus,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

impl Output {
    fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }

    fn assert_success(&self) -> &Self {
        assert!(self.status.success(), "the client failed\n{self}");
        self
    }
}

impl std::fmt::Display for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shown = |bytes: &[u8]| {
            let text = String::from_utf8_lossy(&bytes[..bytes.len().min(4096)]).into_owned();
            if bytes.len() > 4096 {
                text + "..."
            } else {
                text
            }
        };
        write!(
            f,
            "command: {}\nstatus: {}\n--- stdout:\n{}\n--- stderr:\n{}",
            self.command,
            self.status,
            shown(&self.stdout),
            shown(&self.stderr)
        )
    }
}

/// Runs `program args` to its end with stdin from the file `stdin` (or empty), bounded by
/// [`CLIENT_LIMIT`]; stdout and stderr are collected in files of `dir`.
fn run(dir: &TempDir, program: &str, args: &[&str], stdin: Option<&Path>) -> Output {
    run_within(dir, program, args, stdin, CLIENT_LIMIT)
}

/// [`run`] with a limit of its own.
fn run_within(
    dir: &TempDir,
    program: &str,
    args: &[&str],
    stdin: Option<&Path>,
    limit: Duration,
) -> Output {
    let mut command = Command::new(program);
    command.args(args);
    run_command(dir, command, stdin, limit)
}

fn run_command(
    dir: &TempDir,
    mut command: Command,
    stdin: Option<&Path>,
    limit: Duration,
) -> Output {
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    let n = RUNS.fetch_add(1, Ordering::Relaxed);
    let (out, err) = (
        dir.path(&format!("run{n}.out")),
        dir.path(&format!("run{n}.err")),
    );
    let stdin = match stdin {
        Some(path) => Stdio::from(File::open(path).expect("open the client's input")),
        None => Stdio::null(),
    };
    command
        .stdin(stdin)
        .stdout(File::create(&out).expect("create the stdout file"))
        .stderr(File::create(&err).expect("create the stderr file"));
    let mut guard = Guard::spawn(command);
    let status = guard.wait_within(limit);
    let stdout = fs::read(&out).unwrap_or_default();
    let stderr = fs::read(&err).unwrap_or_default();
    let Some(status) = status else {
        panic!(
            "`{}` did not finish within {limit:?}\n--- stdout so far:\n{}\n--- stderr so far:\n{}",
            guard.what,
            String::from_utf8_lossy(&stdout),
            String::from_utf8_lossy(&stderr)
        );
    };
    Output {
        command: guard.what.clone(),
        status,
        stdout,
        stderr,
    }
}

/// A running example server.
struct Server {
    name: &'static str,
    guard: Guard,
    /// The address it printed, after `listening on `.
    addr: String,
    /// Lines it printed on stdout after the first one.
    lines: mpsc::Receiver<String>,
    stderr: PathBuf,
}

impl Server {
    /// Starts example `name` on `driver` with `--listen listen` (and `extra` arguments), and waits
    /// (bounded) for its `listening on ADDR` line.
    fn start(
        driver: Driver,
        dir: &TempDir,
        name: &'static str,
        listen: &str,
        extra: &[&str],
    ) -> Server {
        let exe = example(name);
        let stderr = dir.path(&format!("{name}-server.err"));
        let mut command = Command::new(exe);
        command
            .args(["--driver", &driver.module()])
            .args(["--listen", listen])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(File::create(&stderr).expect("create the server's stderr file"));
        let mut guard = Guard::spawn(command);
        let stdout = guard.child.stdout.take().expect("a piped stdout");
        let (tx, lines) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let first = match lines.recv_timeout(READY_LIMIT) {
            Ok(line) => line,
            Err(_) => panic!(
                "{name} printed no line within {READY_LIMIT:?} (exit status: {:?})\n\
                 --- stderr:\n{}",
                guard.child.try_wait(),
                fs::read_to_string(&stderr).unwrap_or_default()
            ),
        };
        let addr = first
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("{name}'s first line is not `listening on ADDR`: {first:?}"))
            .to_owned();
        let server = Server {
            name,
            guard,
            addr,
            lines,
            stderr,
        };
        server.check_addr(listen);
        server
    }

    /// The printed address is the real one of what was asked for.
    fn check_addr(&self, listen: &str) {
        if listen.starts_with("unix:") || listen.starts_with("unixgram:") {
            // What it prints can be passed back: `unixgram:PATH` for a datagram server.
            assert_eq!(self.addr, listen, "{}'s address", self.name);
        } else {
            let asked: SocketAddr = listen.parse().expect("an IP address to listen on");
            let real = self.socket_addr();
            assert_eq!(real.ip(), asked.ip(), "{}'s address", self.name);
            assert_ne!(real.port(), 0, "{} printed port 0", self.name);
        }
    }

    fn socket_addr(&self) -> SocketAddr {
        self.addr
            .parse()
            .unwrap_or_else(|err| panic!("{} printed {:?}: {err}", self.name, self.addr))
    }

    /// The path of a Unix socket server.
    fn unix_path(&self) -> &str {
        self.addr
            .strip_prefix("unix:")
            .or_else(|| self.addr.strip_prefix("unixgram:"))
            .expect("a Unix socket address")
    }

    /// Stops the server with SIGINT: it must exit 0 within [`STOP_LIMIT`], having printed
    /// nothing after its first line.
    fn stop(self) {
        self.stop_with(Signal::INT, "SIGINT");
    }

    fn stop_with(mut self, signal: Signal, signal_name: &str) {
        kill_process(Pid::from_child(&self.guard.child), signal)
            .unwrap_or_else(|err| panic!("send {signal_name} to {}: {err}", self.name));
        let stderr = |server: &Server| fs::read_to_string(&server.stderr).unwrap_or_default();
        let Some(status) = self.guard.wait_within(STOP_LIMIT) else {
            panic!(
                "{} did not exit within {STOP_LIMIT:?} of {signal_name}\n--- stderr:\n{}",
                self.name,
                stderr(&self)
            );
        };
        assert!(
            status.success(),
            "{} exited with {status} after {signal_name}\n--- stderr:\n{}",
            self.name,
            stderr(&self)
        );
        // Exactly one line on stdout: the reader sees EOF now that the server is gone.
        let deadline = Instant::now() + STOP_LIMIT;
        let mut extra = Vec::new();
        loop {
            match self
                .lines
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            {
                Ok(line) => extra.push(line),
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    panic!("{}'s stdout did not close after it exited", self.name)
                }
            }
        }
        assert!(
            extra.is_empty(),
            "{} printed more than its `listening on` line: {extra:?}",
            self.name
        );
    }
}

/// Writes `data` to a new file `name` in `dir`; returns its path.
fn file_with(dir: &TempDir, name: &str, data: &[u8]) -> PathBuf {
    let path = dir.path(name);
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).expect("create the file's directory");
    }
    fs::write(&path, data).expect("write a test file");
    path
}

// ---------------------------------------------------------------------------------------------
// resp: redis-cli and redis-benchmark
// ---------------------------------------------------------------------------------------------

/// `redis-cli` aimed at one server.
struct RedisCli<'a> {
    dir: &'a TempDir,
    target: Vec<String>,
}

impl<'a> RedisCli<'a> {
    fn new(dir: &'a TempDir, server: &Server) -> Self {
        let target = if server.addr.starts_with("unix:") {
            vec!["-s".to_owned(), server.unix_path().to_owned()]
        } else {
            let addr = server.socket_addr();
            vec![
                "-h".to_owned(),
                addr.ip().to_string(),
                "-p".to_owned(),
                addr.port().to_string(),
            ]
        };
        Self { dir, target }
    }

    /// Runs `redis-cli TARGET options...` with stdin from `stdin`; checks it succeeded.
    fn run(&self, options: &[&str], stdin: Option<&Path>) -> Output {
        let output = self.run_unchecked(options, stdin);
        output.assert_success();
        output
    }

    /// As [`run`](Self::run), whatever the exit status (versions of redis-cli differ in
    /// theirs after an error reply).
    fn run_unchecked(&self, options: &[&str], stdin: Option<&Path>) -> Output {
        let mut args: Vec<&str> = self.target.iter().map(String::as_str).collect();
        args.extend_from_slice(options);
        run(self.dir, "redis-cli", &args, stdin)
    }

    /// Runs one command and checks redis-cli's typed rendering of the reply (`--no-raw`:
    /// `"bulk"`, `(integer) n`, `(nil)`, `(error) ...`), without the final newline.
    fn expect(&self, command: &[&str], expected: &str) {
        let mut args = vec!["--no-raw"];
        args.extend_from_slice(command);
        let output = if expected.starts_with("(error) ") {
            self.run_unchecked(&args, None)
        } else {
            self.run(&args, None)
        };
        let got = output.stdout();
        assert_eq!(
            got.strip_suffix('\n').unwrap_or(&got),
            expected,
            "redis-cli {}\n{output}",
            command.join(" ")
        );
    }
}

fn redis_cli_commands(driver: Driver) {
    if !installed(&["redis-cli"]) {
        return;
    }
    let dir = TempDir::new("rc-cmds");
    let server = Server::start(driver, &dir, "resp", "127.0.0.1:0", &[]);
    let cli = RedisCli::new(&dir, &server);

    cli.expect(&["PING"], "PONG");
    cli.expect(&["PING", "hello there"], "\"hello there\"");
    cli.expect(&["ECHO", "a b\tc"], "\"a b\\tc\"");
    cli.expect(&["SET", "greeting", "hello world"], "OK");
    cli.expect(&["GET", "greeting"], "\"hello world\"");
    cli.expect(&["GET", "missing"], "(nil)");
    cli.expect(&["INCR", "counter"], "(integer) 1");
    cli.expect(&["INCR", "counter"], "(integer) 2");
    cli.expect(&["SET", "counter", "41"], "OK");
    cli.expect(&["INCR", "counter"], "(integer) 42");
    cli.expect(&["GET", "counter"], "\"42\"");
    cli.expect(
        &["INCR", "greeting"],
        "(error) ERR value is not an integer or out of range",
    );
    cli.expect(&["EXISTS", "greeting", "counter", "missing"], "(integer) 2");
    cli.expect(&["DBSIZE"], "(integer) 2");
    cli.expect(&["DEL", "greeting", "missing"], "(integer) 1");
    cli.expect(&["EXISTS", "greeting"], "(integer) 0");
    cli.expect(&["DBSIZE"], "(integer) 1");
    // Redis' own wording, its trailing space included.
    cli.expect(
        &["FOOBAR", "a", "b"],
        "(error) ERR unknown command 'FOOBAR', with args beginning with: 'a' 'b' ",
    );
    cli.expect(
        &["GET"],
        "(error) ERR wrong number of arguments for 'get' command",
    );
    cli.expect(&["SET", "k", "v", "EX", "10"], "(error) ERR syntax error");
    // Without --no-raw (stdout is not a terminal) redis-cli prints replies raw.
    let raw = cli.run(&["GET", "counter"], None);
    assert_eq!(raw.stdout(), "42\n", "{raw}");
    let raw = cli.run_unchecked(&["FOOBAR"], None);
    assert_eq!(
        raw.stdout().trim_end_matches('\n'),
        "ERR unknown command 'FOOBAR', with args beginning with: ",
        "{raw}"
    );
    cli.expect(&["FLUSHALL"], "OK");
    cli.expect(&["DBSIZE"], "(integer) 0");
    server.stop();
}

fn redis_cli_binary_value_and_pipe_mode(driver: Driver) {
    if !installed(&["redis-cli"]) {
        return;
    }
    let dir = TempDir::new("rc-pipe");
    let server = Server::start(driver, &dir, "resp", "127.0.0.1:0", &[]);
    let cli = RedisCli::new(&dir, &server);

    // A binary value of 300 KiB and a bit, as the last argument read from stdin (-x).
    let value = Rng::new(0x5eed_0001).bytes(300 * 1024 + 77);
    let input = file_with(&dir, "value.bin", &value);
    let set = cli.run(&["-x", "SET", "blob"], Some(&input));
    assert_eq!(set.stdout(), "OK\n", "{set}");
    let got = cli.run(&["--raw", "GET", "blob"], None);
    let mut expected = value.clone();
    expected.push(b'\n');
    assert!(
        got.stdout == expected,
        "GET blob: {} bytes back, {} expected (checksums {:?} and {:?})",
        got.stdout.len(),
        expected.len(),
        Checksum::of(&got.stdout),
        Checksum::of(&expected)
    );

    // --pipe: 5000 pipelined SETs in RESP, then redis-cli's ECHO marker, all in one stream.
    let mut commands = Vec::new();
    for i in 0..5000 {
        let (key, value) = (format!("key:{i}"), format!("value:{}", i * 7));
        for part in [
            format!("*3\r\n$3\r\nSET\r\n${}\r\n{key}\r\n", key.len()),
            format!("${}\r\n{value}\r\n", value.len()),
        ] {
            commands.extend_from_slice(part.as_bytes());
        }
    }
    let input = file_with(&dir, "pipe.resp", &commands);
    let piped = cli.run(&["--pipe"], Some(&input));
    assert!(
        piped.stdout().contains("errors: 0, replies: 5000"),
        "redis-cli --pipe\n{piped}"
    );
    cli.expect(&["DBSIZE"], "(integer) 5001");
    cli.expect(&["GET", "key:4999"], "\"value:34993\"");
    server.stop();
}

fn redis_cli_over_ipv6_and_a_unix_socket(driver: Driver) {
    if !installed(&["redis-cli"]) {
        return;
    }
    let dir = TempDir::new("rc-v6-unix");
    let socket = dir.unix("resp.sock");
    for listen in ["[::1]:0", socket.as_str()] {
        let server = Server::start(driver, &dir, "resp", listen, &[]);
        let cli = RedisCli::new(&dir, &server);
        cli.expect(&["PING"], "PONG");
        cli.expect(&["SET", "where", listen], "OK");
        cli.expect(&["GET", "where"], &format!("\"{listen}\""));
        cli.expect(&["INCR", "n"], "(integer) 1");
        server.stop();
    }
}

fn redis_benchmark_ping_set_get(driver: Driver) {
    if !installed(&["redis-benchmark", "redis-cli"]) {
        return;
    }
    let dir = TempDir::new("rc-bench");
    let server = Server::start(driver, &dir, "resp", "127.0.0.1:0", &[]);
    let addr = server.socket_addr();
    let (host, port) = (addr.ip().to_string(), addr.port().to_string());
    let args = [
        "-h",
        &host,
        "-p",
        &port,
        "-t",
        "ping,set,get",
        "-n",
        "20000",
        "-q",
    ];
    let output = run_within(&dir, "redis-benchmark", &args, None, BENCHMARK_LIMIT);
    output.assert_success();
    // -q prints one `TEST: N requests per second, ...` per test, after progress lines ended
    // by carriage returns.
    let text = output.stdout();
    for test in ["PING_INLINE", "PING_MBULK", "SET", "GET"] {
        let rate = text
            .split(['\r', '\n'])
            .filter_map(|line| line.trim().strip_prefix(&format!("{test}: ")))
            .find_map(|rest| {
                rest.strip_suffix(" requests per second").or_else(|| {
                    rest.split_once(" requests per second,")
                        .map(|(rate, _)| rate)
                })
            })
            .and_then(|rate| rate.trim().parse::<f64>().ok())
            .unwrap_or_else(|| panic!("no requests-per-second result for {test}\n{output}"));
        assert!(rate > 0.0, "{test}: {rate} requests per second\n{output}");
    }
    assert!(
        !text.contains("ERR") && !output.stderr().contains("ERR"),
        "redis-benchmark saw errors\n{output}"
    );
    // Its SETs went to one key, with a value of 3 bytes (-d's default).
    let cli = RedisCli::new(&dir, &server);
    let value = cli.run(&["--raw", "GET", "key:__rand_int__"], None);
    assert_eq!(
        value.stdout.len(),
        3 + 1,
        "a 3-byte value and a newline\n{value}"
    );
    cli.expect(&["DBSIZE"], "(integer) 1");
    server.stop();
}

// ---------------------------------------------------------------------------------------------
// http: curl
// ---------------------------------------------------------------------------------------------

/// Runs curl quietly (no ~/.curlrc, no proxy, no URL globbing, bounded) with `args`.
fn curl(dir: &TempDir, args: &[&str]) -> Output {
    let mut all = vec![
        "-q",
        "--silent",
        "--show-error",
        "--globoff",
        "--noproxy",
        "*",
        "--max-time",
        "30",
    ];
    all.extend_from_slice(args);
    run(dir, "curl", &all, None)
}

/// A response as `curl -i` prints it: (status line, head fields lower-cased, body).
fn split_response(output: &Output) -> (String, HashMap<String, String>, Vec<u8>) {
    let raw = &output.stdout;
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no response head\n{output}"));
    let head = String::from_utf8_lossy(&raw[..end]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap_or_default().to_owned();
    let fields = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.to_ascii_lowercase(), value.trim().to_owned()))
        .collect();
    (status, fields, raw[end + 4..].to_vec())
}

fn base_url(server: &Server) -> String {
    format!("http://{}", server.socket_addr())
}

fn curl_get_head_and_404(driver: Driver) {
    if !installed(&["curl"]) {
        return;
    }
    let dir = TempDir::new("curl-basic");
    let server = Server::start(driver, &dir, "http", "127.0.0.1:0", &[]);
    let url = base_url(&server);

    let get = curl(&dir, &["--include", &format!("{url}/")]);
    let (status, fields, body) = split_response(get.assert_success());
    assert_eq!(status, "HTTP/1.1 200 OK", "{get}");
    assert_eq!(fields["content-type"], "text/plain; charset=utf-8", "{get}");
    assert_eq!(
        fields["content-length"],
        GREETING.len().to_string(),
        "{get}"
    );
    assert_eq!(body, GREETING.as_bytes(), "{get}");

    // HEAD: the same head, no body (curl would wait for one it was promised otherwise).
    let head = curl(&dir, &["--head", &format!("{url}/")]);
    let (status, fields, body) = split_response(head.assert_success());
    assert_eq!(status, "HTTP/1.1 200 OK", "{head}");
    assert_eq!(
        fields["content-length"],
        GREETING.len().to_string(),
        "{head}"
    );
    assert!(body.is_empty(), "{head}");

    // No --root: every other path is 404, GET and HEAD alike.
    let missing = curl(
        &dir,
        &[
            "--include",
            "--write-out",
            "\n%{http_code}",
            &format!("{url}/nothing/here"),
        ],
    );
    let (status, fields, body) = split_response(missing.assert_success());
    assert_eq!(status, "HTTP/1.1 404 Not Found", "{missing}");
    assert_eq!(fields["content-length"], "14", "{missing}");
    assert_eq!(body, b"404 Not Found\n\n404", "{missing}");
    let failed = curl(&dir, &["--fail", "--head", &format!("{url}/nothing")]);
    assert_eq!(
        failed.status.code(),
        Some(22),
        "curl --fail on a 404\n{failed}"
    );

    // Other methods and targets.
    let delete = curl(
        &dir,
        &["--include", "--request", "DELETE", &format!("{url}/")],
    );
    assert_eq!(
        split_response(&delete).0,
        "HTTP/1.1 501 Not Implemented",
        "{delete}"
    );
    let post = curl(
        &dir,
        &["--include", "--data-binary", "x", &format!("{url}/")],
    );
    let (status, fields, _) = split_response(&post);
    assert_eq!(status, "HTTP/1.1 405 Method Not Allowed", "{post}");
    assert_eq!(fields["allow"], "GET, HEAD", "{post}");
    // HTTP/1.0 without keep-alive: the server says it closes.
    let old = curl(&dir, &["--http1.0", "--include", &format!("{url}/")]);
    let (status, fields, body) = split_response(old.assert_success());
    assert_eq!(status, "HTTP/1.1 200 OK", "{old}");
    assert_eq!(fields["connection"], "close", "{old}");
    assert_eq!(body, GREETING.as_bytes(), "{old}");
    server.stop();
}

fn curl_keep_alive_reuses_the_connection(driver: Driver) {
    if !installed(&["curl"]) {
        return;
    }
    let dir = TempDir::new("curl-keepalive");
    let root = dir.path("www");
    let data = Rng::new(0x5eed_0002).bytes(200_003);
    file_with(&dir, "www/data.bin", &data);
    let server = Server::start(
        driver,
        &dir,
        "http",
        "127.0.0.1:0",
        &["--root", root.to_str().unwrap()],
    );
    let url = base_url(&server);
    let out = dir.path("data.out");
    let per_transfer = "%{num_connects} %{local_port} %{http_code} %{size_download}\n";

    // Two URLs in one invocation, then more transfers after --next (HEAD, a 404, a file):
    // all on one connection, which a stray body after HEAD would have broken.
    let output = curl(
        &dir,
        &[
            "--write-out",
            per_transfer,
            "--output",
            "/dev/null",
            "--output",
            "/dev/null",
            &format!("{url}/"),
            &format!("{url}/"),
            "--next",
            "--head",
            "--write-out",
            per_transfer,
            "--output",
            "/dev/null",
            &format!("{url}/data.bin"),
            "--next",
            "--write-out",
            per_transfer,
            "--output",
            "/dev/null",
            &format!("{url}/missing"),
            "--next",
            "--write-out",
            per_transfer,
            "--output",
            out.to_str().unwrap(),
            &format!("{url}/data.bin"),
        ],
    );
    output.assert_success();
    let text = output.stdout();
    let transfers: Vec<Vec<&str>> = text.lines().map(|line| line.split(' ').collect()).collect();
    assert_eq!(transfers.len(), 5, "{output}");
    let port = transfers[0][1];
    let expected = [
        ("1", "200", GREETING.len().to_string()),
        ("0", "200", GREETING.len().to_string()),
        ("0", "200", "0".to_owned()),
        ("0", "404", "14".to_owned()),
        ("0", "200", data.len().to_string()),
    ];
    for (i, (transfer, (connects, code, size))) in transfers.iter().zip(&expected).enumerate() {
        assert_eq!(
            (transfer[0], transfer[1], transfer[2], transfer[3]),
            (*connects, port, *code, size.as_str()),
            "transfer {i}: (new connections, local port, status, body bytes)\n{output}"
        );
    }
    assert!(
        fs::read(&out).unwrap() == data,
        "the file fetched over the reused connection differs"
    );
    server.stop();
}

fn curl_file_from_root_matches_by_checksum(driver: Driver) {
    if !installed(&["curl"]) {
        return;
    }
    let dir = TempDir::new("curl-file");
    let root = dir.path("www");
    // A few MiB, not a multiple of any buffer size.
    let data = Rng::new(0x5eed_0003).bytes(3 * 1024 * 1024 + 12_345);
    file_with(&dir, "www/big.bin", &data);
    file_with(&dir, "www/sub dir/hello.txt", b"hello from a file\n");
    file_with(&dir, "outside.txt", b"not served\n");
    let server = Server::start(
        driver,
        &dir,
        "http",
        "127.0.0.1:0",
        &["--root", root.to_str().unwrap()],
    );
    let url = base_url(&server);

    let out = dir.path("big.out");
    let get = curl(
        &dir,
        &[
            "--output",
            out.to_str().unwrap(),
            "--write-out",
            "%{http_code} %{size_download} %{content_type}",
            &format!("{url}/big.bin"),
        ],
    );
    assert_eq!(
        get.assert_success().stdout(),
        format!("200 {} application/octet-stream", data.len()),
        "{get}"
    );
    let fetched = fs::read(&out).expect("read what curl saved");
    assert_eq!(
        Checksum::of(&fetched),
        Checksum::of(&data),
        "(bytes, checksum) of the served file"
    );

    let head = curl(&dir, &["--head", &format!("{url}/big.bin")]);
    let (status, fields, body) = split_response(head.assert_success());
    assert_eq!(status, "HTTP/1.1 200 OK", "{head}");
    assert_eq!(fields["content-length"], data.len().to_string(), "{head}");
    assert!(body.is_empty(), "{head}");

    // A percent-encoded path in a subdirectory, with its content type.
    let text = curl(&dir, &["--include", &format!("{url}/sub%20dir/hello.txt")]);
    let (status, fields, body) = split_response(text.assert_success());
    assert_eq!(status, "HTTP/1.1 200 OK", "{text}");
    assert_eq!(
        fields["content-type"], "text/plain; charset=utf-8",
        "{text}"
    );
    assert_eq!(body, b"hello from a file\n", "{text}");

    // Missing files are 404; leaving the root is 403 (curl must be told not to squash `..`).
    let missing = curl(
        &dir,
        &[
            "--write-out",
            "%{http_code}",
            "--output",
            "/dev/null",
            &format!("{url}/nope.bin"),
        ],
    );
    assert_eq!(missing.assert_success().stdout(), "404", "{missing}");
    let escape = curl(
        &dir,
        &[
            "--path-as-is",
            "--write-out",
            "%{http_code}",
            "--output",
            "/dev/null",
            &format!("{url}/../outside.txt"),
        ],
    );
    assert_eq!(escape.assert_success().stdout(), "403", "{escape}");
    server.stop();
}

fn curl_post_bodies_are_echoed(driver: Driver) {
    if !installed(&["curl"]) {
        return;
    }
    let dir = TempDir::new("curl-post");
    let server = Server::start(driver, &dir, "http", "127.0.0.1:0", &[]);
    let url = base_url(&server);

    let small = curl(
        &dir,
        &[
            "--include",
            "--data-binary",
            "hello, pants\r\n\r\nstill the body",
            &format!("{url}/echo"),
        ],
    );
    let (status, fields, body) = split_response(small.assert_success());
    assert_eq!(status, "HTTP/1.1 200 OK", "{small}");
    assert_eq!(
        fields["content-type"], "application/octet-stream",
        "{small}"
    );
    assert_eq!(body, b"hello, pants\r\n\r\nstill the body", "{small}");

    // 1.5 MiB of binary data from a file, with `Expect: 100-continue`.
    let data = Rng::new(0x5eed_0004).bytes(3 * 512 * 1024 + 7);
    let input = file_with(&dir, "post.bin", &data);
    let out = dir.path("post.out");
    let big = curl(
        &dir,
        &[
            "--verbose",
            "--header",
            "Expect: 100-continue",
            "--data-binary",
            &format!("@{}", input.display()),
            "--output",
            out.to_str().unwrap(),
            "--write-out",
            "%{http_code} %{size_upload} %{size_download}",
            &format!("{url}/echo"),
        ],
    );
    big.assert_success();
    assert_eq!(
        big.stdout(),
        format!("200 {0} {0}", data.len()),
        "(status, bytes up, bytes down)\n{big}"
    );
    assert!(
        big.stderr().contains("< HTTP/1.1 100 Continue"),
        "no interim 100 Continue\n{big}"
    );
    assert_eq!(
        Checksum::of(&fs::read(&out).unwrap()),
        Checksum::of(&data),
        "(bytes, checksum) of the echoed body"
    );
    server.stop();
}

fn curl_over_ipv6_and_a_unix_socket(driver: Driver) {
    if !installed(&["curl"]) {
        return;
    }
    let dir = TempDir::new("curl-v6-unix");
    let server = Server::start(driver, &dir, "http", "[::1]:0", &[]);
    let get = curl(&dir, &[&format!("{}/", base_url(&server))]);
    assert_eq!(get.assert_success().stdout(), GREETING, "{get}");
    server.stop();

    let socket = dir.unix("http.sock");
    let server = Server::start(driver, &dir, "http", &socket, &[]);
    let path = server.unix_path().to_owned();
    let get = curl(&dir, &["--unix-socket", &path, "http://localhost/"]);
    assert_eq!(get.assert_success().stdout(), GREETING, "{get}");
    let post = curl(
        &dir,
        &[
            "--unix-socket",
            &path,
            "--data-binary",
            "over a unix socket",
            "http://localhost/echo",
        ],
    );
    assert_eq!(
        post.assert_success().stdout(),
        "over a unix socket",
        "{post}"
    );
    server.stop();
}

// ---------------------------------------------------------------------------------------------
// echo and udp_echo: socat
// ---------------------------------------------------------------------------------------------

/// Streams a deterministic payload through `socat - ADDRESS` (stdin from a file): what comes
/// back must be the payload. socat half-closes after the payload and ends at the server's EOF.
fn socat_stream_echo(dir: &TempDir, address: &str, seed: u64) {
    let data = Rng::new(seed).bytes(1024 * 1024 + 333);
    let input = file_with(dir, "payload.bin", &data);
    let output = run(
        dir,
        "socat",
        &["-t", "30", "-T", "30", "-", address],
        Some(&input),
    );
    output.assert_success();
    assert_eq!(
        Checksum::of(&output.stdout),
        Checksum::of(&data),
        "(bytes, checksum) echoed through `socat - {address}`\n--- stderr:\n{}",
        output.stderr()
    );
}

fn socat_echo_tcp_v4(driver: Driver) {
    if !installed(&["socat"]) {
        return;
    }
    let dir = TempDir::new("socat-tcp4");
    let server = Server::start(driver, &dir, "echo", "127.0.0.1:0", &[]);
    socat_stream_echo(&dir, &format!("TCP4:{}", server.socket_addr()), 0x5eed_0005);
    server.stop();
}

fn socat_echo_tcp_v6(driver: Driver) {
    if !installed(&["socat"]) {
        return;
    }
    let dir = TempDir::new("socat-tcp6");
    let server = Server::start(driver, &dir, "echo", "[::1]:0", &[]);
    socat_stream_echo(&dir, &format!("TCP6:{}", server.socket_addr()), 0x5eed_0006);
    server.stop();
}

fn socat_echo_unix(driver: Driver) {
    if !installed(&["socat"]) {
        return;
    }
    let dir = TempDir::new("socat-unix");
    let server = Server::start(driver, &dir, "echo", &dir.unix("echo.sock"), &[]);
    let address = format!("UNIX-CONNECT:{}", server.unix_path());
    socat_stream_echo(&dir, &address, 0x5eed_0007);
    server.stop();
}

/// An interactive socat: the test writes its stdin and reads its stdout as they go.
struct Interactive {
    guard: Guard,
    stdin: Option<std::process::ChildStdin>,
    stdout: mpsc::Receiver<Vec<u8>>,
    stderr: PathBuf,
}

impl Interactive {
    fn start(dir: &TempDir, args: &[&str]) -> Self {
        let stderr = dir.path("socat.err");
        let mut command = Command::new("socat");
        command
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(File::create(&stderr).expect("create socat's stderr file"));
        let mut guard = Guard::spawn(command);
        let stdin = guard.child.stdin.take();
        let mut out = guard.child.stdout.take().expect("a piped stdout");
        let (tx, stdout) = mpsc::channel();
        thread::spawn(move || {
            let mut buf = vec![0; 64 * 1024];
            while let Ok(n @ 1..) = out.read(&mut buf) {
                if tx.send(buf[..n].to_vec()).is_err() {
                    break;
                }
            }
        });
        Self {
            guard,
            stdin,
            stdout,
            stderr,
        }
    }

    /// Writes `data` to socat's stdin in one write (one datagram, for a datagram address).
    fn send(&mut self, data: &[u8]) {
        let stdin = self.stdin.as_mut().expect("stdin still open");
        stdin.write_all(data).expect("write to socat");
        stdin.flush().expect("flush socat's stdin");
    }

    /// Reads exactly `n` bytes from socat's stdout, bounded by [`CLIENT_LIMIT`].
    fn receive(&mut self, n: usize) -> Vec<u8> {
        let deadline = Instant::now() + CLIENT_LIMIT;
        let mut got = Vec::new();
        while got.len() < n {
            match self
                .stdout
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            {
                Ok(chunk) => got.extend_from_slice(&chunk),
                Err(err) => panic!(
                    "`{}`: {} of {n} bytes back ({err})\n--- stderr:\n{}",
                    self.guard.what,
                    got.len(),
                    fs::read_to_string(&self.stderr).unwrap_or_default()
                ),
            }
        }
        got
    }

    /// Closes stdin; socat must then exit 0 (bounded), and nothing more may have arrived.
    fn finish(mut self) {
        drop(self.stdin.take());
        let status = self
            .guard
            .wait_within(CLIENT_LIMIT)
            .unwrap_or_else(|| panic!("`{}` did not exit after its stdin closed", self.guard.what));
        assert!(
            status.success(),
            "`{}` exited with {status}\n--- stderr:\n{}",
            self.guard.what,
            fs::read_to_string(&self.stderr).unwrap_or_default()
        );
        let rest: Vec<u8> = self.stdout.try_iter().flatten().collect();
        assert!(
            rest.is_empty(),
            "unexpected bytes after the last reply: {:?}",
            String::from_utf8_lossy(&rest)
        );
    }
}

/// Sends datagrams through `socat - ADDRESS`, one at a time, each coming back whole.
fn socat_datagram_echo(dir: &TempDir, address: &str, seed: u64) {
    let mut socat = Interactive::start(dir, &["-T", "30", "-", address]);
    let mut rng = Rng::new(seed);
    for size in [1, 1400, 3000] {
        let datagram = rng.bytes(size);
        socat.send(&datagram);
        let back = socat.receive(size);
        assert!(back == datagram, "a {size}-byte datagram came back changed");
    }
    socat.finish();
}

fn socat_udp_echo_v4(driver: Driver) {
    if !installed(&["socat"]) {
        return;
    }
    let dir = TempDir::new("socat-udp4");
    let server = Server::start(driver, &dir, "udp_echo", "127.0.0.1:0", &[]);
    socat_datagram_echo(&dir, &format!("UDP4:{}", server.socket_addr()), 0x5eed_0008);
    server.stop();
}

fn socat_udp_echo_v6(driver: Driver) {
    if !installed(&["socat"]) {
        return;
    }
    let dir = TempDir::new("socat-udp6");
    let server = Server::start(driver, &dir, "udp_echo", "[::1]:0", &[]);
    socat_datagram_echo(&dir, &format!("UDP6:{}", server.socket_addr()), 0x5eed_0009);
    server.stop();
}

fn socat_udp_echo_unixgram(driver: Driver) {
    if !installed(&["socat"]) {
        return;
    }
    let dir = TempDir::new("socat-dgram");
    let listen = format!("unixgram:{}", dir.path("echo.sock").display());
    let server = Server::start(driver, &dir, "udp_echo", &listen, &[]);
    // The client binds a socket of its own, so that the reply has somewhere to go.
    let address = format!(
        "UNIX-SENDTO:{},bind={}",
        server.unix_path(),
        dir.path("client.sock").display()
    );
    socat_datagram_echo(&dir, &address, 0x5eed_000a);
    server.stop();
}

fn stops_gracefully_with_a_client_connected(driver: Driver) {
    if !installed(&["socat"]) {
        return;
    }
    for (signal, name) in [(Signal::INT, "SIGINT"), (Signal::TERM, "SIGTERM")] {
        let dir = TempDir::new("socat-stop");
        let server = Server::start(driver, &dir, "echo", "127.0.0.1:0", &[]);
        let address = format!("TCP4:{}", server.socket_addr());
        let mut socat = Interactive::start(&dir, &["-T", "30", "-", &address]);
        socat.send(b"still here\n");
        assert_eq!(socat.receive(11), b"still here\n");
        // The connection stays open while the server stops.
        server.stop_with(signal, name);
        socat.finish();
    }
}

// ---------------------------------------------------------------------------------------------
// TLS: openssl s_client against tls_echo, curl against http --tls
// ---------------------------------------------------------------------------------------------

/// A self-signed certificate for `localhost`, 127.0.0.1 and ::1, and its key, written to
/// `dir`: (certificate, key) paths, as the examples' `--cert` and `--key` take them.
fn tls_identity(dir: &TempDir) -> (String, String) {
    let names = ["localhost", "127.0.0.1", "::1"].map(String::from).to_vec();
    let made = rcgen::generate_simple_self_signed(names).expect("a certificate");
    let cert = file_with(dir, "cert.pem", made.cert.pem().as_bytes());
    let key = file_with(dir, "key.pem", made.signing_key.serialize_pem().as_bytes());
    let shown = |path: PathBuf| path.to_str().expect("a UTF-8 path").to_owned();
    (shown(cert), shown(key))
}

/// Starts `tls_echo` with a certificate of the test's; closes idle connections after a second
/// (so that `s_client`, which keeps reading after its input ends, sees the server's
/// close_notify once the echo is all back).
fn start_tls_echo(driver: Driver, dir: &TempDir) -> (Server, String) {
    let (cert, key) = tls_identity(dir);
    let extra = ["--cert", &cert, "--key", &key, "--idle-timeout", "1"];
    let server = Server::start(driver, dir, "tls_echo", "127.0.0.1:0", &extra);
    (server, cert)
}

/// Sends `data` through `openssl s_client` (verifying the server against `cert`) and returns
/// what came back.
fn s_client_echo(dir: &TempDir, server: &Server, cert: &str, data: &[u8]) -> Output {
    let input = file_with(dir, "s_client.in", data);
    let connect = server.addr.clone();
    let args = [
        "s_client",
        "-connect",
        &connect,
        "-CAfile",
        cert,
        "-verify_return_error",
        "-quiet",
    ];
    run(dir, "openssl", &args, Some(&input))
}

fn openssl_s_client_against_tls_echo(driver: Driver) {
    if !installed(&["openssl"]) {
        return;
    }
    let dir = TempDir::new("tls-s-client");
    let (server, cert) = start_tls_echo(driver, &dir);
    let mut data = Vec::new();
    for i in 0..4000 {
        data.extend_from_slice(format!("line {i} through TLS and back\n").as_bytes());
    }
    let output = s_client_echo(&dir, &server, &cert, &data);
    output.assert_success();
    assert_eq!(
        Checksum::of(&output.stdout),
        Checksum::of(&data),
        "(bytes, checksum) echoed through openssl s_client\n--- stderr:\n{}",
        output.stderr()
    );
    server.stop();
}

fn curl_https_against_http_tls(driver: Driver) {
    if !installed(&["curl"]) {
        return;
    }
    let dir = TempDir::new("curl-https");
    let (cert, key) = tls_identity(&dir);
    let root = dir.path("www");
    let data = Rng::new(0x5eed_0015).bytes(2 * 1024 * 1024 + 4321);
    file_with(&dir, "www/big.bin", &data);
    let extra = ["--tls", "--cert", &cert, "--key", &key, "--root"];
    let mut args = extra.to_vec();
    args.push(root.to_str().unwrap());
    let server = Server::start(driver, &dir, "http", "127.0.0.1:0", &args);
    let url = format!("https://{}", server.socket_addr());

    let get = curl(&dir, &["--cacert", &cert, "--include", &format!("{url}/")]);
    let (status, _, body) = split_response(get.assert_success());
    assert_eq!(status, "HTTP/1.1 200 OK", "{get}");
    assert_eq!(body, GREETING.as_bytes(), "{get}");

    // A file: read and encrypted by the core (no sendfile under TLS), on keep-alive.
    let out = dir.path("big.out");
    let file = curl(
        &dir,
        &[
            "--cacert",
            &cert,
            "--output",
            out.to_str().unwrap(),
            "--write-out",
            "%{http_code} %{size_download}",
            &format!("{url}/big.bin"),
        ],
    );
    assert_eq!(
        file.assert_success().stdout(),
        format!("200 {}", data.len()),
        "{file}"
    );
    let fetched = fs::read(&out).expect("read what curl saved");
    assert_eq!(
        Checksum::of(&fetched),
        Checksum::of(&data),
        "the file over TLS"
    );

    // Without the certificate, curl refuses the server.
    let refused = curl(&dir, &[&format!("{url}/")]);
    assert!(
        !refused.status.success(),
        "curl trusted a self-signed certificate\n{refused}"
    );
    server.stop();
}

fn plaintext_client_on_a_tls_port_is_dropped_and_others_are_served(driver: Driver) {
    if !installed(&["openssl"]) {
        return;
    }
    let dir = TempDir::new("tls-plaintext");
    let (server, cert) = start_tls_echo(driver, &dir);
    let mut plain = std::net::TcpStream::connect(server.socket_addr()).expect("connect");
    plain.set_read_timeout(Some(CLIENT_LIMIT)).unwrap();
    plain
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .expect("write");
    let mut answer = Vec::new();
    // A fatal alert, then the server's EOF (or a reset): never an echo.
    let _ = plain.read_to_end(&mut answer);
    assert!(
        answer.len() < 16 && !answer.starts_with(b"GET"),
        "the plaintext client got {answer:?}"
    );
    let output = s_client_echo(&dir, &server, &cert, b"still serving\n");
    output.assert_success();
    assert_eq!(output.stdout(), "still serving\n", "{output}");
    drop(plain);
    server.stop();
}

// ---------------------------------------------------------------------------------------------
// Two engines: resp and chat with --threads 2
// ---------------------------------------------------------------------------------------------

/// Each engine's count of accepted connections, from the line a server on a group prints on
/// stderr at exit (`accepted connections by engine: 27 23`).
fn accepted_by_engine(stderr: &Path) -> Vec<usize> {
    let text = fs::read_to_string(stderr).unwrap_or_default();
    let line = text
        .lines()
        .find_map(|line| line.strip_prefix("accepted connections by engine: "))
        .unwrap_or_else(|| panic!("no count of accepted connections on stderr:\n{text}"));
    line.split(' ')
        .map(|n| n.parse().expect("a count"))
        .collect()
}

/// Stops `server` and checks that each of its two engines accepted some connections.
fn stop_and_check_both_engines_served(server: Server) {
    let stderr = server.stderr.clone();
    server.stop();
    let accepted = accepted_by_engine(&stderr);
    assert!(
        accepted.len() == 2 && accepted.iter().all(|&n| n > 0),
        "connections accepted by each engine: {accepted:?}"
    );
}

/// `resp --threads 2`: a SET through one connection is seen by a GET through any other, and
/// the INCRs of 50 redis-benchmark clients spread over both engines all count.
fn resp_on_two_threads_keeps_one_key_space(driver: Driver) {
    if !installed(&["redis-benchmark", "redis-cli"]) {
        return;
    }
    let dir = TempDir::new("rc-threads");
    let server = Server::start(driver, &dir, "resp", "127.0.0.1:0", &["--threads", "2"]);
    let cli = RedisCli::new(&dir, &server);
    // Each redis-cli run is a connection of its own, on whichever engine the kernel picks.
    cli.expect(&["SET", "greeting", "hello"], "OK");
    for n in 1..=8 {
        cli.expect(&["GET", "greeting"], "\"hello\"");
        cli.expect(&["INCR", "n"], &format!("(integer) {n}"));
    }
    let addr = server.socket_addr();
    let (host, port) = (addr.ip().to_string(), addr.port().to_string());
    let args = [
        "-h", &host, "-p", &port, "-t", "set,incr", "-c", "50", "-n", "20000", "-q",
    ];
    let output = run_within(&dir, "redis-benchmark", &args, None, BENCHMARK_LIMIT);
    output.assert_success();
    assert!(
        !output.stdout().contains("ERR") && !output.stderr().contains("ERR"),
        "redis-benchmark saw errors\n{output}"
    );
    // redis-benchmark's INCR increments one key; its SET writes another.
    cli.expect(&["GET", "counter:__rand_int__"], "\"20000\"");
    cli.expect(&["DBSIZE"], "(integer) 4");
    stop_and_check_both_engines_served(server);
}

/// Clients of `chat --threads 2`, spread over both engines.
const CHAT_CLIENTS: usize = 24;
/// Lines each client sends.
const CHAT_LINES: usize = 5;

/// `chat --threads 2`: every line any client sends reaches every client once, whichever
/// engine serves it. (24 clients all land on one engine with probability 2^-23; the server's
/// count of accepted connections by engine shows they did not.)
fn chat_on_two_threads_sends_every_line_to_every_client_once(driver: Driver) {
    let dir = TempDir::new("chat-threads");
    let server = Server::start(driver, &dir, "chat", "127.0.0.1:0", &["--threads", "2"]);
    let addr = server.socket_addr();
    let mut clients: Vec<ChatClient> = (0..CHAT_CLIENTS)
        .map(|_| ChatClient::connect(addr))
        .collect();
    // A client that reads its own line back is served (its engine knows it): lines sent from
    // now on reach it.
    for (i, client) in clients.iter_mut().enumerate() {
        let joined = format!("joined {i}");
        client.send(&joined);
        client.read_until(|line| line == joined);
    }
    let mut expected: Vec<String> = Vec::new();
    for (i, client) in clients.iter_mut().enumerate() {
        for n in 0..CHAT_LINES {
            let line = format!("line {n} of client {i}");
            client.send(&line);
            expected.push(line);
        }
    }
    expected.sort();
    for (i, client) in clients.iter_mut().enumerate() {
        let mut got = client.lines_until(expected.len());
        got.sort();
        assert_eq!(got, expected, "client {i}: every line, once");
    }
    // A last line after all of them: nothing else (a line twice) may come before it.
    clients[0].send("done");
    for (i, client) in clients.iter_mut().enumerate() {
        let late = client.read_until(|line| line == "done");
        assert!(late.is_empty(), "client {i} received lines twice: {late:?}");
    }
    stop_and_check_both_engines_served(server);
}

/// A chat client: lines in and out, every read bounded by [`CLIENT_LIMIT`].
struct ChatClient {
    stream: std::net::TcpStream,
    reader: BufReader<std::net::TcpStream>,
}

impl ChatClient {
    fn connect(addr: SocketAddr) -> Self {
        let stream = std::net::TcpStream::connect_timeout(&addr, CLIENT_LIMIT)
            .unwrap_or_else(|err| panic!("connect to {addr}: {err}"));
        stream.set_read_timeout(Some(CLIENT_LIMIT)).unwrap();
        stream.set_write_timeout(Some(CLIENT_LIMIT)).unwrap();
        let reader = BufReader::new(stream.try_clone().unwrap());
        Self { stream, reader }
    }

    fn send(&mut self, line: &str) {
        self.stream
            .write_all(format!("{line}\n").as_bytes())
            .expect("send a chat line");
    }

    fn line(&mut self) -> String {
        let mut line = String::new();
        match self.reader.read_line(&mut line) {
            Ok(0) => panic!("the chat server closed the connection"),
            Ok(_) => line.trim_end_matches('\n').to_owned(),
            Err(err) => panic!("reading a chat line: {err}"),
        }
    }

    /// Reads until a line `done` accepts; the `line ...` lines before it.
    fn read_until(&mut self, done: impl Fn(&str) -> bool) -> Vec<String> {
        let mut lines = Vec::new();
        loop {
            let line = self.line();
            if done(&line) {
                return lines;
            }
            if line.starts_with("line ") {
                lines.push(line);
            }
        }
    }

    /// The next `n` lines `line ...`, skipping the `joined ...` lines of other clients.
    fn lines_until(&mut self, n: usize) -> Vec<String> {
        let mut lines = Vec::new();
        while lines.len() < n {
            let line = self.line();
            if line.starts_with("line ") {
                lines.push(line);
            }
        }
        lines
    }
}
