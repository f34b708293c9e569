//! The quick start's `demo`, run as the built binary on a free port (killed when dropped), and
//! the Entra admin center steps, which cannot run here (a web UI), checked against it.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::walk::{Failure, NOT_RUNNABLE, README_ADDR, Shell};

/// `DEMO_API_KEY`, which the README's docker line passes on; set for every block.
const DEMO_API_KEY: &str = "readme-demo-api-key";

/// A scratch directory (with `bin/scimgate`, the binary under test) and the demo process; both
/// go when this is dropped, whatever way the test ends.
pub(super) struct Demo {
    pub(super) work: PathBuf,
    child: Option<Child>,
}

impl Drop for Demo {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.work);
    }
}

impl Demo {
    /// The scratch directory, `scimgate` linked into its `bin/`.
    pub(super) fn new() -> std::io::Result<Self> {
        let work = std::env::temp_dir().join(format!("scimgate-readme-{}", uuid::Uuid::new_v4()));
        let demo = Self { work, child: None };
        std::fs::create_dir_all(demo.work.join("bin"))?;
        std::os::unix::fs::symlink(
            env!("CARGO_BIN_EXE_scimgate"),
            demo.work.join("bin/scimgate"),
        )?;
        Ok(demo)
    }

    /// Whether the demo is still running.
    pub(super) fn alive(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    /// Starts `scimgate demo` on a free port and waits until it answers; the shell the README's
    /// blocks run in (README line `line` for failures).
    pub(super) fn start(&mut self, root: &Path, line: usize) -> Result<Shell, Failure> {
        let fail = |m: String| Failure::new(line, m);
        let bin = env!("CARGO_BIN_EXE_scimgate");
        let help = Command::new(bin)
            .args(["demo", "--help"])
            .output()
            .map_err(|e| fail(format!("demo --help: {e}")))?;
        let help = String::from_utf8_lossy(&help.stdout);
        let default = help.split("default: ").nth(1).map_or("", |d| {
            d.split(|c: char| !(c.is_ascii_digit() || c == '.' || c == ':'))
                .next()
                .unwrap_or_default()
        });
        if default != README_ADDR {
            return Err(fail(format!(
                "the README's demo URL is {README_ADDR} but demo's default --listen is {default}"
            )));
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| fail(format!("a free port: {e}")))?
            .port();
        let log_path = self.work.join("demo.log");
        let log = std::fs::File::create(&log_path).map_err(|e| fail(format!("demo.log: {e}")))?;
        let log2 = log
            .try_clone()
            .map_err(|e| fail(format!("demo.log: {e}")))?;
        let child = Command::new(bin)
            .args(["demo", "--listen", &format!("127.0.0.1:{port}")])
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2)
            .spawn()
            .map_err(|e| fail(format!("start demo: {e}")))?;
        self.child = Some(child);
        let read_log = || std::fs::read_to_string(&log_path).unwrap_or_default();
        let mut up = false;
        for _ in 0..300 {
            if read_log().contains("Bearer token")
                && http_get(port, "/healthz", None).is_ok_and(|(s, _)| s == 200)
            {
                up = true;
                break;
            }
            if !self.alive() {
                return Err(fail(format!("demo exited:\n{}", read_log())));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let log = read_log();
        if !up {
            return Err(fail(format!("demo did not come up:\n{log}")));
        }
        let after = |label: &str| {
            log.lines()
                .find_map(|l| l.split_once(label).map(|(_, rest)| rest.trim().to_string()))
        };
        let token = after("Bearer token (Entra's Secret Token):").filter(|t| !t.is_empty());
        let token = token.ok_or_else(|| fail("demo printed no bearer token".into()))?;
        let base = after("SCIM base URL")
            .and_then(|r| r.split_once(':').map(|(_, url)| url.trim().to_string()));
        let want = format!("http://127.0.0.1:{port}/scim/v2");
        if base.as_deref() != Some(want.as_str()) {
            return Err(fail(format!(
                "demo printed the base URL {base:?}, not {want}"
            )));
        }
        println!(
            "  demo on 127.0.0.1:{port} (README: {README_ADDR}, demo's default), its token in $TOKEN"
        );
        let path = format!(
            "{}:{}",
            self.work.join("bin").display(),
            std::env::var("PATH").unwrap_or_default()
        );
        Ok(Shell {
            root: root.to_path_buf(),
            port,
            env: vec![
                ("PATH".into(), path),
                ("TOKEN".into(), token),
                ("DEMO_API_KEY".into(), DEMO_API_KEY.into()),
            ],
            work: self.work.clone(),
        })
    }
}

/// `GET path` on the demo (a bearer token if given): status and body.
fn http_get(port: u16, path: &str, token: Option<&str>) -> anyhow::Result<(u16, String)> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let client = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(10))
            .build()?;
        let mut request = client.get(format!("http://127.0.0.1:{port}{path}"));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await?;
        let status = response.status().as_u16();
        Ok((status, response.text().await?))
    })
}

/// The Entra admin center steps' facts, against the running demo: the Tenant URL's path is
/// config/scimgate.yaml's `base_path`, Entra's Test connection probe (with the URL's flag)
/// answers 0 results, and `scimgate token`'s settings line is the sha256 of its token.
pub(super) fn check_entra(readme: &str, shell: &Shell) -> Result<(), Failure> {
    let fail = |m: String| Failure::new(1, m);
    println!("==> not runnable here: Entra admin center (docker: above)");
    println!("  {}", NOT_RUNNABLE[2].1);
    let prefix = "https://scim.example.com/scim/v2?";
    let (_, after) = readme
        .split_once(prefix)
        .ok_or_else(|| fail(format!("the Entra steps give no Tenant URL {prefix}…")))?;
    let flag: String = after
        .chars()
        .take_while(char::is_ascii_alphanumeric)
        .collect();
    let config = std::fs::read_to_string(shell.root.join("config/scimgate.yaml"))
        .map_err(|e| fail(format!("config/scimgate.yaml: {e}")))?;
    if !config
        .lines()
        .any(|l| l.trim_start_matches(' ').starts_with("base_path: /scim/v2"))
    {
        return Err(fail(
            "the Tenant URL's path /scim/v2 is not config/scimgate.yaml's base_path".into(),
        ));
    }
    let token = shell
        .env
        .iter()
        .find(|(k, _)| k == "TOKEN")
        .map(|(_, v)| v.as_str());
    let probe = format!(
        "/scim/v2/Users?filter=userName+eq+%22{}%22&{flag}",
        uuid::Uuid::new_v4()
    );
    let (status, body) = http_get(shell.port, &probe, token)
        .map_err(|e| fail(format!("Test connection probe: {e:#}")))?;
    let total = serde_json::from_str::<serde_json::Value>(&body)
        .ok()
        .and_then(|b| b["totalResults"].as_u64());
    if status != 200 || total != Some(0) {
        return Err(fail(format!(
            "Entra's Test connection probe (with ?{flag}) did not answer 200 and 0 results: {status} {body}"
        )));
    }
    println!(
        "  Tenant URL {prefix}{flag}: path is base_path, the probe with ?{flag} answers 200 and 0 results"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_scimgate"))
        .arg("token")
        .output()
        .map_err(|e| fail(format!("scimgate token: {e}")))?;
    let out = String::from_utf8_lossy(&out.stdout);
    let secret = out.lines().find_map(|l| {
        let rest = l.split_once("Secret Token")?.1;
        rest.split_once(": ")
            .map(|(_, t)| t.split_whitespace().next().unwrap_or_default().to_string())
    });
    let line = out.split("sha256:").nth(1).map(|h| {
        h.chars()
            .take_while(char::is_ascii_hexdigit)
            .collect::<String>()
    });
    let hash = secret.map(|t| {
        Sha256::digest(t.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    });
    if line.is_none() || line != hash || line.as_ref().is_some_and(|l| l.len() != 64) {
        return Err(fail(format!(
            "scimgate token: the sha256 line is not the token's hash:\n{out}"
        )));
    }
    println!(
        "  scimgate token: the sha256 line hashes the token (tenants[].auth.bearer.token_hashes)"
    );
    Ok(())
}
