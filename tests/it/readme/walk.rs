//! The walk over README.md's blocks: which run, which are skipped or checked another way, and
//! how a shell or console block is run.

use std::fmt;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::blocks::{Block, console_commands, output_differs, parse_blocks};
use super::docker::check_docker;

/// The quick start's first command, run as the built binary's `demo` instead.
pub(super) const QUICK_START: &str = "cargo run --release -- demo";

/// The README's demo address, rewritten to the demo's real port in every block.
pub(super) const README_ADDR: &str = "127.0.0.1:8080";

/// The commands that cannot run here: first word(s), why, and what checks them instead.
pub(super) const NOT_RUNNABLE: [(&str, &str); 3] = [
    (
        "docker build",
        "no Docker engine on CI machines; checked against the Dockerfile",
    ),
    (
        "docker run",
        "no Docker engine on CI machines; flags, mounts and env vars checked against Dockerfile, config and mappings",
    ),
    (
        "Entra admin center",
        "a web UI (README: Connecting Microsoft Entra ID); the Tenant URL and Test connection probe run against the demo",
    ),
];

/// Why the README fails, naming the line of the block (or of the mention) at fault.
#[derive(Debug)]
pub(super) struct Failure {
    pub(super) line: usize,
    pub(super) message: String,
}

impl Failure {
    pub(super) fn new(line: usize, message: impl Into<String>) -> Self {
        Self {
            line,
            message: message.into(),
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FAIL README.md:{}: {}", self.line, self.message)
    }
}

/// Where and how blocks run: the repository root, the demo's port, the environment every block
/// gets (`TOKEN`, `DEMO_API_KEY`, `PATH` with `scimgate` first) and a scratch directory.
pub(super) struct Shell {
    pub(super) root: PathBuf,
    pub(super) port: u16,
    pub(super) env: Vec<(String, String)>,
    pub(super) work: PathBuf,
}

impl Shell {
    fn rewrite(&self, text: &str) -> String {
        text.replace(README_ADDR, &format!("127.0.0.1:{}", self.port))
    }

    /// Runs `script` with `bash -euo pipefail` in the repository root: success, and stdout and
    /// stderr together, as a terminal shows them.
    fn bash(&self, script: &str) -> Result<(bool, String), String> {
        let file = self.work.join("run.sh");
        let out = self.work.join("out");
        std::fs::write(&file, self.rewrite(script))
            .map_err(|e| format!("write {}: {e}", file.display()))?;
        let stdout = File::create(&out).map_err(|e| format!("create {}: {e}", out.display()))?;
        let stderr = stdout
            .try_clone()
            .map_err(|e| format!("dup {}: {e}", out.display()))?;
        let status = Command::new("bash")
            .args(["-euo", "pipefail"])
            .arg(&file)
            .current_dir(&self.root)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .status()
            .map_err(|e| format!("bash: {e}"))?;
        let bytes = std::fs::read(&out).map_err(|e| format!("read {}: {e}", out.display()))?;
        Ok((
            status.success(),
            String::from_utf8_lossy(&bytes).into_owned(),
        ))
    }
}

/// Up to 40 lines of a command's output, indented, for a failure message.
fn quoted(output: &str) -> String {
    output
        .lines()
        .take(40)
        .map(|l| format!("\n    | {l}"))
        .collect()
}

/// What a walk did.
#[derive(Debug, Default)]
pub(super) struct Summary {
    pub(super) ran: usize,
    pub(super) skipped: Vec<String>,
}

fn note(text: &str) {
    println!("  {text}");
}

/// Every script the README names in inline code (`` `scripts/….sh` ``, `` `bench/….sh` ``), with
/// the first line naming it.
pub(super) fn named_scripts(readme: &str) -> Vec<(usize, String)> {
    let mut found: Vec<(usize, String)> = Vec::new();
    for (i, line) in readme.split('\n').enumerate() {
        for (at, _) in line.match_indices('`') {
            let after = &line[at + 1..];
            let Some(dir) = ["scripts/", "bench/"]
                .into_iter()
                .find(|d| after.starts_with(d))
            else {
                continue;
            };
            let run_len = after[dir.len()..]
                .find(|c: char| !(c.is_ascii_alphanumeric() || "_./-".contains(c)))
                .unwrap_or(after.len() - dir.len());
            let run = &after[dir.len()..dir.len() + run_len];
            // The longest `X….sh` the run starts with (at least one character before `.sh`).
            if let Some(end) = run.rfind(".sh").filter(|&e| e >= 1) {
                let script = format!("{dir}{}", &run[..end + 3]);
                if !found.iter().any(|(_, s)| *s == script) {
                    found.push((i + 1, script));
                }
            }
        }
    }
    found
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The scripts the README names exist and are executable.
pub(super) fn check_named_scripts(readme: &str, root: &Path) -> Result<(), Failure> {
    println!("==> scripts named in README.md");
    for (line, script) in named_scripts(readme) {
        if !is_executable(&root.join(&script)) {
            return Err(Failure::new(
                line,
                format!("`{script}` is named but is not an executable file"),
            ));
        }
        note(&format!("{script} (line {line}) exists and is executable"));
    }
    Ok(())
}

/// `# readme: needs SERVICE` in the first three lines of a block: the service.
fn needs(block: &Block) -> Option<&str> {
    block
        .body
        .iter()
        .take(3)
        .find_map(|l| l.strip_prefix("# readme: needs "))
        .filter(|s| !s.is_empty())
}

/// The quick start block: `cargo run --release -- demo` (run as `start_demo`) and
/// `scripts/test.sh` (exists and is executable; not run, it runs this test), nothing else.
fn quick_start(
    block: &Block,
    root: &Path,
    start_demo: &mut dyn FnMut(usize) -> Result<Shell, Failure>,
) -> Result<Shell, Failure> {
    let first = block
        .body
        .iter()
        .find(|l| !l.trim().is_empty())
        .map_or("", |l| l.split('#').next().unwrap_or_default().trim_end());
    if first != QUICK_START {
        return Err(Failure::new(
            block.line,
            format!(
                "the quick start's first command is `{first}`, not `{QUICK_START}` (run here as `scimgate demo`)"
            ),
        ));
    }
    let is = |l: &str, command: &str| {
        l.strip_prefix(command)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with(char::is_whitespace))
    };
    if !block.body.iter().any(|l| is(l, "scripts/test.sh")) {
        return Err(Failure::new(
            block.line,
            "the quick start does not give scripts/test.sh",
        ));
    }
    if !is_executable(&root.join("scripts/test.sh")) {
        return Err(Failure::new(
            block.line,
            "scripts/test.sh is not executable",
        ));
    }
    let shell = start_demo(block.line)?;
    note("scripts/test.sh: not run (it runs this test), exists and is executable");
    let rest: Vec<&str> = block
        .body
        .iter()
        .map(String::as_str)
        .filter(|l| !l.trim().is_empty() && !is(l, QUICK_START) && !is(l, "scripts/test.sh"))
        .collect();
    if !rest.is_empty() {
        return Err(Failure::new(
            block.line,
            format!(
                "the quick start block has more than its two commands: {}",
                rest.join("\n")
            ),
        ));
    }
    Ok(shell)
}

fn run_shell_block(block: &Block, shell: &Shell) -> Result<(), Failure> {
    let (ok, output) = shell
        .bash(&block.text())
        .map_err(|e| Failure::new(block.line, e))?;
    if !ok {
        return Err(Failure::new(
            block.line,
            format!("a command of this block failed{}", quoted(&output)),
        ));
    }
    note("ok");
    Ok(())
}

fn run_console_block(block: &Block, shell: &Shell) -> Result<(), Failure> {
    for command in console_commands(block)? {
        let first = command.first_line();
        let (ok, output) = shell
            .bash(&format!("{}\n", command.command))
            .map_err(|e| Failure::new(block.line, e))?;
        if !ok {
            return Err(Failure::new(
                block.line,
                format!("`{first}` failed{}", quoted(&output)),
            ));
        }
        let expected: Vec<String> = command.expected.iter().map(|l| shell.rewrite(l)).collect();
        if let Some(report) = output_differs(&expected, &output) {
            return Err(Failure::new(
                block.line,
                format!("`{first}`: output differs from the README\n    {report}"),
            ));
        }
        note(&format!("$ {first}"));
    }
    Ok(())
}

/// Walks `readme` top to bottom: checks the named scripts, then runs or checks every
/// sh/bash/console block in order. `start_demo` is called for the quick start and gives the
/// shell every later block runs in; it is returned for the checks after the walk.
pub(super) fn walk(
    readme: &str,
    root: &Path,
    start_demo: &mut dyn FnMut(usize) -> Result<Shell, Failure>,
) -> Result<(Summary, Shell), Failure> {
    let blocks = parse_blocks(readme)?;
    check_named_scripts(readme, root)?;
    let mut summary = Summary::default();
    let mut shell: Option<Shell> = None;
    for block in &blocks {
        match block.lang.as_str() {
            "sh" | "bash" | "console" => {}
            "" => {
                return Err(Failure::new(
                    block.line,
                    "a code fence without a language (sh/bash/console are run; yaml/json/text are not)",
                ));
            }
            _ => continue,
        }
        if let Some(service) = needs(block) {
            summary
                .skipped
                .push(format!("line {}: needs {service}", block.line));
            println!(
                "--  README.md:{} ({}): skipped, needs {service}",
                block.line, block.lang
            );
            continue;
        }
        println!("==> README.md:{} ({})", block.line, block.lang);
        let Some(current) = shell.as_ref() else {
            if block.lang == "console" {
                return Err(Failure::new(
                    block.line,
                    "a console block before the quick start",
                ));
            }
            shell = Some(quick_start(block, root, start_demo)?);
            summary.ran += 1;
            continue;
        };
        if block.lang == "console" {
            run_console_block(block, current)?;
        } else if block
            .body
            .iter()
            .any(|l| l.trim_start().starts_with("docker "))
        {
            for (key, why) in &NOT_RUNNABLE[..2] {
                if block
                    .body
                    .iter()
                    .any(|l| l.trim_start().starts_with(&format!("{key} ")))
                {
                    note(&format!("not runnable here: {key}: {why}"));
                }
            }
            check_docker(block, root)?;
        } else {
            run_shell_block(block, current)?;
        }
        summary.ran += 1;
    }
    let shell = shell
        .ok_or_else(|| Failure::new(1, format!("no quick start block (`{QUICK_START}`) found")))?;
    Ok((summary, shell))
}
