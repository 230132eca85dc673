//! Private PostgreSQL and Redis instances for the fault tests: each on a
//! free loopback port, in its own temporary directory, started and stopped
//! (and frozen, restarted, …) by the test alone. The shared services on
//! 5432 and 6379 are never touched.
//!
//! PostgreSQL comes from the highest version under `/usr/lib/postgresql`,
//! Redis is the `redis-server` on `PATH`; a missing one fails the test with
//! a message saying what to install. `initdb` and `postgres` refuse to run
//! as root, so as root they run as the `postgres` OS user.
//!
//! Everything is stopped when the guards drop (also on panic). Directories
//! left by a run that was killed outright are swept by the next run.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

/// Where the instances live: /tmp, whatever TMPDIR says, since the
/// `postgres` user must reach its directory.
const TMP: &str = "/tmp";
/// Prefix of every directory these instances live in.
const DIR_PREFIX: &str = "azth-faults-";

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free loopback port")
}

/// A new private directory (mode 0700) under /tmp.
fn private_dir(kind: &str) -> PathBuf {
    use std::os::unix::fs::DirBuilderExt;
    let dir = Path::new(TMP).join(format!("{DIR_PREFIX}{kind}-{}", uuid::Uuid::new_v4().simple()));
    std::fs::DirBuilder::new().mode(0o700).create(&dir).expect("creating a private temp dir");
    dir
}

fn running_as_root() -> bool {
    // No libc in the dev-dependencies: /proc tells the effective uid.
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find_map(|l| l.strip_prefix("Uid:")).map(str::to_owned))
        .and_then(|l| l.split_whitespace().nth(1).map(|euid| euid == "0"))
        .unwrap_or(false)
}

/// uid and gid of an OS user, from /etc/passwd.
fn os_user(name: &str) -> Option<(u32, u32)> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let f: Vec<&str> = line.split(':').collect();
        if f.len() > 3 && f[0] == name { Some((f[2].parse().ok()?, f[3].parse().ok()?)) } else { None }
    })
}

/// Runs a command to completion; panics with its output when it fails.
fn run(mut cmd: Command, what: &str) {
    let out = cmd.stdin(Stdio::null()).output().unwrap_or_else(|e| panic!("{what}: cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Sends `signal` (a `kill` name such as STOP) to `pid`.
fn signal(pid: u32, signal: &str) {
    let mut cmd = Command::new("kill");
    cmd.arg(format!("-{signal}")).arg(pid.to_string());
    run(cmd, &format!("kill -{signal} {pid}"));
}

/// Whether something accepts TCP connections on the loopback `port`.
fn answers(port: u16) -> bool {
    std::net::TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_millis(200)).is_ok()
}

/// Stops what killed runs left behind: directories of ours older than 30
/// minutes (a run takes about one), their PostgreSQL and Redis with them.
pub fn sweep_leftovers() {
    let Ok(entries) = std::fs::read_dir(TMP) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| SystemTime::now().duration_since(t).ok())
            .is_some_and(|age| age > Duration::from_secs(1800));
        if !name.starts_with(DIR_PREFIX) || !old {
            continue;
        }
        let dir = entry.path();
        if dir.join("data/postmaster.pid").exists()
            && let Some(bin) = postgres_bin_dir()
        {
            let _ = pg_command(&bin, "pg_ctl", running_as_root())
                .args(["-D", &dir.join("data").to_string_lossy(), "-m", "immediate", "-w", "stop"])
                .stdin(Stdio::null())
                .output();
        }
        if let Some(pid) =
            std::fs::read_to_string(dir.join("redis.pid")).ok().and_then(|p| p.trim().parse::<u32>().ok())
            && std::fs::read_to_string(format!("/proc/{pid}/cmdline")).is_ok_and(|c| c.contains("redis-server"))
        {
            let _ = Command::new("kill").args(["-CONT", &pid.to_string()]).output();
            let _ = Command::new("kill").args(["-KILL", &pid.to_string()]).output();
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}

// ---------------------------------------------------------------- Redis

/// A private `redis-server` (no persistence: a restart loses every key).
pub struct Redis {
    pub port: u16,
    dir: PathBuf,
    binary: PathBuf,
    /// The running server (behind a lock: the test stops and restarts it
    /// while the load shares the harness).
    child: std::sync::Mutex<Option<Child>>,
}

impl Redis {
    /// Starts one on a free port and waits until it answers PING.
    pub fn start() -> Self {
        let binary = std::env::var_os("PATH")
            .into_iter()
            .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
            .map(|d| d.join("redis-server"))
            .find(|p| p.is_file())
            .unwrap_or_else(|| {
                panic!("redis-server is not on PATH: the fault tests need it (Debian: apt-get install redis-server)")
            });
        let redis = Self { port: free_port(), dir: private_dir("redis"), binary, child: Default::default() };
        redis.spawn();
        redis
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    fn child(&self) -> std::sync::MutexGuard<'_, Option<Child>> {
        self.child.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn spawn(&self) {
        let child = Command::new(&self.binary)
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(&self.dir)
            .arg("--pidfile")
            .arg(self.dir.join("redis.pid"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", self.binary.display()));
        *self.child() = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while !self.pong() {
            if let Some(Ok(Some(status))) = self.child().as_mut().map(Child::try_wait) {
                panic!("redis-server on port {} exited at start: {status}", self.port);
            }
            assert!(Instant::now() < deadline, "redis-server on port {} did not answer within 10 s", self.port);
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn pong(&self) -> bool {
        use std::io::{Read, Write};
        let Ok(mut s) =
            std::net::TcpStream::connect_timeout(&([127, 0, 0, 1], self.port).into(), Duration::from_millis(200))
        else {
            return false;
        };
        let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
        let mut buf = [0u8; 16];
        s.write_all(b"PING\r\n").is_ok() && s.read(&mut buf).is_ok_and(|n| buf[..n].starts_with(b"+PONG"))
    }

    fn pid(&self) -> u32 {
        self.child().as_ref().expect("redis-server is running").id()
    }

    /// Stops it (SIGTERM, as a service manager does) and waits for the exit.
    pub fn stop(&self) {
        let child = self.child().take();
        if let Some(mut child) = child {
            signal(child.id(), "TERM");
            let _ = child.wait();
        }
        assert!(!answers(self.port), "redis-server still answers after stopping");
    }

    /// Starts it again on the same port, empty.
    pub fn restart(&self) {
        assert!(self.child().is_none(), "restart follows stop");
        self.spawn();
    }

    /// Freezes it (SIGSTOP): connections stay open, nothing answers.
    pub fn freeze(&self) {
        signal(self.pid(), "STOP");
    }

    /// Lets a frozen server run again (SIGCONT).
    pub fn thaw(&self) {
        signal(self.pid(), "CONT");
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let child = self.child().take();
        if let Some(mut child) = child {
            let _ = Command::new("kill").args(["-CONT", &child.id().to_string()]).output();
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

// ----------------------------------------------------------- PostgreSQL

/// `bin` of the highest PostgreSQL version installed under /usr/lib/postgresql.
fn postgres_bin_dir() -> Option<PathBuf> {
    std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .flatten()
        .filter_map(|e| {
            let version: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .max_by_key(|(v, _)| *v)
        .map(|(_, bin)| bin)
}

fn pg_command(bin: &Path, program: &str, as_postgres: bool) -> Command {
    if as_postgres {
        let mut cmd = Command::new("runuser");
        cmd.args(["-u", "postgres", "--"]).arg(bin.join(program));
        cmd
    } else {
        Command::new(bin.join(program))
    }
}

/// A private PostgreSQL cluster (trust authentication on loopback).
pub struct Postgres {
    pub port: u16,
    bin: PathBuf,
    root: PathBuf,
    as_postgres: bool,
}

impl Postgres {
    /// initdb and start a cluster on a free port.
    pub fn start() -> Self {
        let bin = postgres_bin_dir().unwrap_or_else(|| {
            panic!(
                "no PostgreSQL server binaries under /usr/lib/postgresql/<version>/bin: the fault tests need them \
                 (Debian: apt-get install postgresql)"
            )
        });
        let as_postgres = running_as_root();
        let root = private_dir("pg");
        if as_postgres {
            let (uid, gid) = os_user("postgres").unwrap_or_else(|| {
                panic!("running as root, the fault tests need the `postgres` OS user to run initdb")
            });
            std::os::unix::fs::chown(&root, Some(uid), Some(gid)).expect("chown of the cluster directory");
        }
        let pg = Self { port: free_port(), bin, root, as_postgres };
        let mut initdb = pg.command("initdb");
        initdb.arg("-D").arg(pg.data()).args(["-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8"]);
        initdb.args(["--locale=C"]);
        run(initdb, "initdb");
        pg.start_server();
        pg
    }

    fn command(&self, program: &str) -> Command {
        pg_command(&self.bin, program, self.as_postgres)
    }

    fn data(&self) -> PathBuf {
        self.root.join("data")
    }

    /// The superuser's URL (trust authentication: no password).
    pub fn admin_url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Starts the server (after `start` or `stop_fast`) and waits until it accepts connections.
    pub fn start_server(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off \
             -c full_page_writes=off -c max_connections=50",
            self.port,
            self.root.display()
        );
        let mut cmd = self.command("pg_ctl");
        cmd.arg("-D").arg(self.data()).arg("-l").arg(self.root.join("server.log"));
        cmd.args(["-o", &options, "-w", "-t", "30", "start"]);
        cmd.stdout(Stdio::null());
        run(cmd, "pg_ctl start");
    }

    /// A fast shutdown: open sessions are ended, the server exits.
    pub fn stop_fast(&self) {
        let mut cmd = self.command("pg_ctl");
        cmd.arg("-D").arg(self.data()).args(["-m", "fast", "-w", "-t", "30", "stop"]);
        cmd.stdout(Stdio::null());
        run(cmd, "pg_ctl stop");
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        if self.data().join("postmaster.pid").exists() {
            let _ = self
                .command("pg_ctl")
                .arg("-D")
                .arg(self.data())
                .args(["-m", "immediate", "-w", "stop"])
                .stdin(Stdio::null())
                .output();
        }
        let _ = std::fs::remove_dir_all(&self.root);
    }
}
