//! Shared pieces of the cross-crate suites: an engine on a background thread (with any
//! driver), test clients, logs, temporary directories, test data, checksums, descriptor limits
//! and child processes.
//!
//! Every blocking step is bounded by [`STEP`]; waiting for something the engine does is
//! polling a condition against a deadline, never a bare sleep.
#![allow(dead_code, unreachable_pub)]

use std::fs::File;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, mpsc};
use std::thread::{self, JoinHandle, ThreadId};
use std::time::{Duration, Instant};

use pants::{Addr, EngineContext};
use socket2::{Domain, SockAddr, Socket, Type};

/// How long any blocking step of a test may take before the test fails.
pub const STEP: Duration = Duration::from_secs(20);

/// The drivers the conformance suite runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Driver {
    Mio,
    Smol,
}

impl Driver {
    /// The name of the test module the suite generates for this driver (`mio::...`).
    pub fn module(self) -> String {
        format!("{self:?}").to_lowercase()
    }
}

/// Work posted into a running engine.
type Work = Box<dyn FnOnce(&mut EngineContext<'_>) + Send>;

/// Reaches a running engine from other threads, whatever its driver: post work, ask it to stop.
#[derive(Clone)]
pub struct Remote {
    post: Arc<dyn Fn(Work) + Send + Sync>,
    stop: Arc<dyn Fn() + Send + Sync>,
}

impl Remote {
    /// Reaches the engine behind `handle` (both drivers' handles are one type).
    pub fn of(handle: pants::Handle) -> Self {
        let stop = handle.clone();
        Self {
            post: Arc::new(move |work: Work| handle.post(work)),
            stop: Arc::new(move || stop.stop()),
        }
    }

    /// Runs `work` on the loop (the driver's `Handle::post`).
    pub fn post(&self, work: impl FnOnce(&mut EngineContext<'_>) + Send + 'static) {
        (self.post)(Box::new(work));
    }

    /// Asks the loop to stop gracefully (the driver's `Handle::stop`); does not wait.
    pub fn stop(&self) {
        (self.stop)();
    }

    /// Runs `work` on the loop and waits (bounded) for what it returns.
    pub fn call<R: Send + 'static>(
        &self,
        work: impl FnOnce(&mut EngineContext<'_>) -> R + Send + 'static,
    ) -> R {
        let (tx, rx) = mpsc::channel();
        self.post(move |cx| {
            let _ = tx.send(work(cx));
        });
        rx.recv_timeout(STEP)
            .expect("the loop ran the posted work in time")
    }
}

/// An engine running on its own thread. Dropped without [`stop`](Self::stop) (a failing
/// test), it asks the engine to stop and does not wait.
pub struct Running {
    remote: Remote,
    thread: Option<JoinHandle<io::Result<()>>>,
}

impl Running {
    /// A handle for other threads.
    pub fn remote(&self) -> Remote {
        self.remote.clone()
    }

    /// Runs `work` on the loop.
    pub fn post(&self, work: impl FnOnce(&mut EngineContext<'_>) + Send + 'static) {
        self.remote.post(work);
    }

    /// Runs `work` on the loop and waits (bounded) for what it returns.
    pub fn call<R: Send + 'static>(
        &self,
        work: impl FnOnce(&mut EngineContext<'_>) -> R + Send + 'static,
    ) -> R {
        self.remote.call(work)
    }

    /// The engine thread's id.
    pub fn thread_id(&self) -> ThreadId {
        self.thread.as_ref().expect("running").thread().id()
    }

    /// Asks the engine to stop gracefully; does not wait.
    pub fn request_stop(&self) {
        self.remote.stop();
    }

    /// Waits (bounded) for `run()` to return, and checks it returned `Ok`.
    pub fn join(mut self) {
        self.join_within(STEP);
    }

    /// Waits at most `limit` for `run()` to return, and checks it returned `Ok`.
    pub fn join_within(&mut self, limit: Duration) {
        let thread = self.thread.take().expect("joined once");
        let done = wait_until_within(limit, || thread.is_finished());
        if !done {
            self.thread = Some(thread);
            panic!("the engine's run() did not return within {limit:?}");
        }
        match thread.join() {
            Ok(result) => result.expect("run() failed"),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }

    /// Asks the engine to stop gracefully and waits (bounded) for `run()` to return.
    pub fn stop(self) {
        self.request_stop();
        self.join();
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if self.thread.is_some() {
            self.remote.stop();
        }
    }
}

/// Starts an engine on `driver` in a new thread, runs `setup` on it (open channels there),
/// and returns what `setup` returned once the loop is about to run.
pub fn start<R: Send + 'static>(
    driver: Driver,
    setup: impl FnOnce(&mut EngineContext<'_>) -> R + Send + 'static,
) -> (Running, R) {
    let (tx, rx) = mpsc::channel();
    let thread = thread::Builder::new().name(format!("engine-{}", driver.module()));
    let thread = match driver {
        Driver::Mio => thread.spawn(move || {
            let mut engine = pants::Engine::new()?;
            let remote = Remote::of(engine.handle());
            tx.send((setup(&mut engine.context()), remote))
                .expect("the test is waiting");
            engine.run()
        }),
        Driver::Smol => thread.spawn(move || {
            let mut engine = pants::smol::Engine::new()?;
            let remote = Remote::of(engine.handle());
            tx.send((setup(&mut engine.context()), remote))
                .expect("the test is waiting");
            smol::block_on(engine.run())
        }),
    }
    .expect("spawn the engine thread");
    match rx.recv_timeout(STEP) {
        Ok((result, remote)) => (
            Running {
                remote,
                thread: Some(thread),
            },
            result,
        ),
        Err(_) => match thread.join() {
            Err(panic) => std::panic::resume_unwind(panic),
            Ok(Err(err)) => panic!("the engine failed to start: {err}"),
            Ok(Ok(())) => panic!("the engine thread ended before setup finished"),
        },
    }
}

/// Polls `done` until it holds, for at most [`STEP`]; panics naming `what` otherwise.
pub fn wait_until(what: &str, done: impl FnMut() -> bool) {
    assert!(
        wait_until_within(STEP, done),
        "timed out waiting for {what}"
    );
}

/// Polls `done` until it holds or `limit` passes; says whether it held.
pub fn wait_until_within(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if done() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        thread::sleep(Duration::from_millis(1));
    }
}

/// What handlers did, as lines of text, shared between the engine thread and the test.
#[derive(Clone, Default)]
pub struct Log(Arc<Mutex<Vec<String>>>);

impl Log {
    pub fn push(&self, entry: impl Into<String>) {
        self.0.lock().unwrap().push(entry.into());
    }

    pub fn snapshot(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }

    /// How many entries equal `entry`.
    pub fn count(&self, entry: &str) -> usize {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter(|e| *e == entry)
            .count()
    }

    /// Waits (bounded) until the log satisfies `done`; returns it then.
    pub fn wait_for(&self, done: impl Fn(&[String]) -> bool) -> Vec<String> {
        let deadline = Instant::now() + STEP;
        loop {
            let snapshot = self.snapshot();
            if done(&snapshot) {
                return snapshot;
            }
            assert!(
                Instant::now() < deadline,
                "timed out; log so far: {snapshot:?}"
            );
            thread::sleep(Duration::from_millis(1));
        }
    }

    /// Waits (bounded) until `entry` is in the log `times` times.
    pub fn wait_count(&self, entry: &str, times: usize) -> Vec<String> {
        self.wait_for(|log| log.iter().filter(|e| *e == entry).count() >= times)
    }

    /// Waits (bounded) until an entry starts with `prefix`; returns that entry.
    pub fn wait_prefix(&self, prefix: &str) -> String {
        let log = self.wait_for(|log| log.iter().any(|e| e.starts_with(prefix)));
        log.into_iter().find(|e| e.starts_with(prefix)).unwrap()
    }
}

/// A directory of its own for one test (Unix socket paths), removed when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(name: &str) -> Self {
        static COUNT: AtomicUsize = AtomicUsize::new(0);
        let n = COUNT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("pants-{}-{n}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create the test's directory");
        Self(dir)
    }

    /// A path in the directory.
    pub fn path(&self, file: &str) -> PathBuf {
        self.0.join(file)
    }

    /// A Unix address in the directory, as a string for `listen`.
    pub fn unix(&self, file: &str) -> String {
        format!("unix:{}", self.path(file).display())
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The test's end of a stream: TCP or Unix, blocking, every call bounded by [`STEP`].
pub enum Client {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl Client {
    /// Connects to `addr` (IP or Unix path).
    pub fn connect(addr: &Addr) -> Self {
        Self::open(addr, None)
    }

    /// Connects with a small receive buffer (`SO_RCVBUF` set before connecting), so that what
    /// the peer sends and this side does not read stays in the peer's queue.
    pub fn connect_small_window(addr: &Addr) -> Self {
        Self::open(addr, Some(16 * 1024))
    }

    fn open(addr: &Addr, receive_buffer: Option<usize>) -> Self {
        let (domain, target) = match addr {
            Addr::Ip(ip) => (Domain::for_address(*ip), SockAddr::from(*ip)),
            Addr::Unix(path) => (Domain::UNIX, SockAddr::unix(path).expect("a socket path")),
            other => panic!("no test client for {other}"),
        };
        let socket = Socket::new(domain, Type::STREAM, None).expect("socket");
        if let Some(size) = receive_buffer {
            socket.set_recv_buffer_size(size).expect("SO_RCVBUF");
        }
        let connected = match addr {
            Addr::Ip(_) => socket.connect_timeout(&target, STEP),
            // A Unix connect completes at once or fails (it never is in progress).
            _ => socket.connect(&target),
        };
        connected.unwrap_or_else(|err| panic!("connect to {addr}: {err}"));
        socket.set_read_timeout(Some(STEP)).unwrap();
        socket.set_write_timeout(Some(STEP)).unwrap();
        match addr {
            Addr::Ip(_) => Client::Tcp(socket.into()),
            _ => Client::Unix(socket.into()),
        }
    }

    pub fn try_clone(&self) -> Self {
        match self {
            Client::Tcp(s) => Client::Tcp(s.try_clone().unwrap()),
            Client::Unix(s) => Client::Unix(s.try_clone().unwrap()),
        }
    }

    /// Shuts down the write side: the peer reads EOF.
    pub fn shutdown_write(&self) {
        match self {
            Client::Tcp(s) => s.shutdown(Shutdown::Write),
            Client::Unix(s) => s.shutdown(Shutdown::Write),
        }
        .expect("shutdown(SHUT_WR)");
    }

    /// Reads exactly `expected.len()` bytes and checks they are `expected`.
    pub fn expect(&mut self, expected: &[u8]) {
        let mut got = vec![0; expected.len()];
        self.read_exact(&mut got).unwrap_or_else(|err| {
            panic!(
                "reading {:?}: {err}",
                String::from_utf8_lossy(expected).trim_end()
            )
        });
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(expected)
        );
    }

    /// Reads until EOF, checksumming: (bytes, checksum), or the error that ended the stream.
    pub fn checksum_to_eof(&mut self) -> io::Result<(u64, u64)> {
        let mut sum = Checksum::default();
        let mut buf = vec![0; 256 * 1024];
        loop {
            match self.read(&mut buf) {
                Ok(0) => return Ok(sum.finish()),
                Ok(n) => sum.update(&buf[..n]),
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) => return Err(err),
            }
        }
    }

    /// Expects EOF next (no more bytes).
    pub fn expect_eof(&mut self) {
        let mut rest = Vec::new();
        self.read_to_end(&mut rest).expect("read to EOF");
        assert!(
            rest.is_empty(),
            "expected EOF, got {:?}",
            String::from_utf8_lossy(&rest)
        );
    }

    /// Closes with a reset: `SO_LINGER` 0, then close.
    pub fn reset(self) {
        let socket = match self {
            Client::Tcp(s) => Socket::from(s),
            Client::Unix(s) => Socket::from(s),
        };
        socket.set_linger(Some(Duration::ZERO)).expect("SO_LINGER");
        drop(socket);
    }
}

impl Read for Client {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Client::Tcp(s) => s.read(buf),
            Client::Unix(s) => s.read(buf),
        }
    }
}

impl Write for Client {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Client::Tcp(s) => s.write(buf),
            Client::Unix(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Accepts one connection on a non-blocking std listener, waiting (bounded) for it.
pub fn accept_within(listener: &TcpListener) -> (TcpStream, SocketAddr) {
    listener.set_nonblocking(true).unwrap();
    let mut accepted = None;
    wait_until("a connection to the test's listener", || {
        match listener.accept() {
            Ok(pair) => accepted = Some(pair),
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => {}
            Err(err) => panic!("accept: {err}"),
        }
        accepted.is_some()
    });
    let (stream, peer) = accepted.unwrap();
    stream.set_nonblocking(false).unwrap();
    stream.set_read_timeout(Some(STEP)).unwrap();
    stream.set_write_timeout(Some(STEP)).unwrap();
    (stream, peer)
}

/// A small deterministic generator for test data and chunk sizes (xorshift64).
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed | 1)
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// `n` pseudo-random bytes, eight at a time (fast enough for many MiB in debug builds).
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(n + 8);
        while out.len() < n {
            out.extend_from_slice(&self.next().to_le_bytes());
        }
        out.truncate(n);
        out
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// An order-sensitive checksum of a byte stream, however it is split.
#[derive(Default)]
pub struct Checksum {
    len: u64,
    hash: u64,
    pending: Vec<u8>,
}

impl Checksum {
    pub fn of(data: &[u8]) -> (u64, u64) {
        let mut sum = Self::default();
        sum.update(data);
        sum.finish()
    }

    pub fn update(&mut self, mut data: &[u8]) {
        self.len += data.len() as u64;
        if !self.pending.is_empty() {
            let take = (8 - self.pending.len()).min(data.len());
            self.pending.extend_from_slice(&data[..take]);
            data = &data[take..];
            if self.pending.len() < 8 {
                return;
            }
            let word = u64::from_le_bytes(self.pending[..].try_into().unwrap());
            self.pending.clear();
            self.mix(word);
        }
        let mut words = data.chunks_exact(8);
        for word in &mut words {
            self.mix(u64::from_le_bytes(word.try_into().unwrap()));
        }
        self.pending.extend_from_slice(words.remainder());
    }

    fn mix(&mut self, word: u64) {
        self.hash = (self.hash ^ word)
            .wrapping_mul(0x9e37_79b9_7f4a_7c15)
            .rotate_left(29);
    }

    /// (bytes seen, checksum).
    pub fn finish(mut self) -> (u64, u64) {
        let mut last = [0; 8];
        last[..self.pending.len()].copy_from_slice(&self.pending);
        self.mix(u64::from_le_bytes(last) ^ self.len);
        (self.len, self.hash)
    }
}

/// Raises this process's soft `RLIMIT_NOFILE` to at least `at_least` (as far as the hard limit
/// allows); returns the soft limit now in force.
pub fn raise_nofile_limit(at_least: u64) -> u64 {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    let current = limit.current.unwrap_or(u64::MAX);
    if current >= at_least {
        return current;
    }
    let wanted = limit.maximum.map_or(at_least, |max| at_least.min(max));
    setrlimit(
        Resource::Nofile,
        Rlimit {
            current: Some(wanted),
            maximum: limit.maximum,
        },
    )
    .expect("raise RLIMIT_NOFILE");
    wanted
}

/// Lowers this process's soft `RLIMIT_NOFILE` to `limit` (for a child process only).
pub fn lower_nofile_limit(limit: u64) {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let hard = getrlimit(Resource::Nofile).maximum;
    setrlimit(
        Resource::Nofile,
        Rlimit {
            current: Some(limit),
            maximum: hard,
        },
    )
    .expect("lower RLIMIT_NOFILE");
}

/// CPU time this process has used, all threads together (needs no descriptor).
pub fn process_cpu_time() -> Duration {
    let now = rustix::time::clock_gettime(rustix::time::ClockId::ProcessCPUTime);
    Duration::new(now.tv_sec as u64, now.tv_nsec as u32)
}

/// The environment variable that puts a test binary started by [`run_in_child`] into a
/// special mode.
pub const CHILD_MODE: &str = "PANTS_CONFORMANCE_CHILD";

/// The special mode this process runs in, if it is a child started by [`run_in_child`].
pub fn child_mode() -> Option<String> {
    std::env::var(CHILD_MODE).ok()
}

/// Runs test `test` (its full name, such as `mio::emfile_does_not_spin`) of this test binary
/// alone in a child process with [`CHILD_MODE`] set to `mode`, waits (bounded) and checks
/// that it ran and passed. Process-wide settings (descriptor limits) changed there leave
/// the other tests alone.
pub fn run_in_child(test: &str, mode: &str) {
    let dir = TempDir::new("child");
    let (out, err) = (dir.path("stdout"), dir.path("stderr"));
    let mut child = Command::new(std::env::current_exe().expect("the test binary"))
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_MODE, mode)
        .stdin(Stdio::null())
        .stdout(File::create(&out).unwrap())
        .stderr(File::create(&err).unwrap())
        .spawn()
        .expect("start the child process");
    let mut status = None;
    let finished = wait_until_within(STEP * 2, || {
        status = child.try_wait().expect("wait for the child");
        status.is_some()
    });
    if !finished {
        let _ = child.kill();
        let _ = child.wait();
    }
    let read = |path: &Path| std::fs::read_to_string(path).unwrap_or_default();
    let (stdout, stderr) = (read(&out), read(&err));
    let report = format!("--- child stdout:\n{stdout}\n--- child stderr:\n{stderr}");
    assert!(finished, "the child did not finish in time\n{report}");
    let status = status.unwrap();
    assert!(status.success(), "the child failed: {status}\n{report}");
    assert!(
        stdout.contains("1 passed"),
        "the child did not run {test}\n{report}"
    );
}

/// A listener on the test's side, for the engine's clients to connect to.
pub enum TestListener {
    Tcp(TcpListener),
    Unix(std::os::unix::net::UnixListener),
}

impl TestListener {
    /// Listens at `addr`: `127.0.0.1:0`, `[::1]:0` or `unix:PATH`; returns the real address.
    pub fn bind(addr: &str) -> (Self, Addr) {
        match addr.strip_prefix("unix:") {
            Some(path) => {
                let listener = std::os::unix::net::UnixListener::bind(path).expect("bind");
                (TestListener::Unix(listener), Addr::Unix(path.into()))
            }
            None => {
                let listener = TcpListener::bind(addr).expect("bind");
                let local = listener.local_addr().unwrap();
                (TestListener::Tcp(listener), Addr::Ip(local))
            }
        }
    }

    /// Accepts one connection, waiting (bounded) for it.
    pub fn accept(&self) -> Client {
        match self {
            TestListener::Tcp(listener) => Client::Tcp(accept_within(listener).0),
            TestListener::Unix(listener) => {
                listener.set_nonblocking(true).unwrap();
                let mut accepted = None;
                wait_until("a connection to the test's listener", || {
                    match listener.accept() {
                        Ok((stream, _)) => accepted = Some(stream),
                        Err(err) if err.kind() == io::ErrorKind::WouldBlock => {}
                        Err(err) => panic!("accept: {err}"),
                    }
                    accepted.is_some()
                });
                let stream = accepted.unwrap();
                stream.set_nonblocking(false).unwrap();
                stream.set_read_timeout(Some(STEP)).unwrap();
                stream.set_write_timeout(Some(STEP)).unwrap();
                Client::Unix(stream)
            }
        }
    }
}

/// How long building a missing example may take.
const BUILD_LIMIT: Duration = Duration::from_secs(600);

/// The example binary `name`: next to this test binary, or built (once, bounded) with cargo
/// into the same target directory and profile.
pub fn example(name: &str) -> PathBuf {
    static BUILDING: Mutex<()> = Mutex::new(());
    let exe = std::env::current_exe().expect("the test binary's path");
    // target/<profile>/deps/TEST-HASH
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("the test binary lies in target/<profile>/deps");
    let path = profile_dir.join("examples").join(name);
    let _building = BUILDING.lock().unwrap_or_else(PoisonError::into_inner);
    if path.is_file() {
        return path;
    }
    let target_dir = profile_dir.parent().expect("target/<profile>");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["build", "--quiet", "--example", name, "--target-dir"])
        .arg(target_dir);
    match profile_dir.file_name().and_then(|p| p.to_str()) {
        Some("debug") | None => {}
        Some("release") => {
            command.arg("--release");
        }
        Some(profile) => {
            command.args(["--profile", profile]);
        }
    }
    let mut build = command.spawn().expect("run cargo build");
    let mut status = None;
    let built = wait_until_within(BUILD_LIMIT, || {
        status = build.try_wait().expect("wait for cargo");
        status.is_some()
    });
    if !built {
        let _ = build.kill();
        let _ = build.wait();
    }
    assert!(
        status.is_some_and(|s| s.success()),
        "cargo build --example {name} failed or took over {BUILD_LIMIT:?}"
    );
    path
}

/// Runs example `name` with `args` until it exits by itself, within [`STEP`]: its output.
/// One that still runs then is killed, and the test fails saying `still_runs_means`.
pub fn run_example_to_end(
    name: &str,
    args: &[&str],
    still_runs_means: &str,
) -> std::process::Output {
    let child = Command::new(example(name))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|err| panic!("start {name}: {err}"));
    let pid = child.id();
    let (tx, exited) = mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let Ok(output) = exited.recv_timeout(STEP) else {
        let _ = Command::new("kill").arg(pid.to_string()).status();
        panic!("{name} {args:?} still runs after {STEP:?}: {still_runs_means}");
    };
    output.unwrap_or_else(|err| panic!("{name}'s output: {err}"))
}
