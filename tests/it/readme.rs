//! Every command in README.md, run (or, where it cannot run here, checked) so the README cannot
//! rot: `cargo test --test it readme::`.
//!
//! What it does, top to bottom of README.md:
//! - Every fenced block needs a language. ```` ```sh ````, ```` ```bash ```` and
//!   ```` ```console ```` blocks are run, in README order; others (`yaml`, `json`, `text`) are
//!   not. A block may be indented (inside a list).
//! - The quick start: the first sh block must start with exactly `cargo run --release -- demo`;
//!   that line is run as the built binary, `scimgate demo`, in the background (its state is in
//!   memory; every later block runs against it). The README's demo URL `http://127.0.0.1:8080`
//!   must be `demo`'s default `--listen`; the demo runs on a free port and `127.0.0.1:8080` is
//!   rewritten in every block to it. `scripts/test.sh` (which runs this test) is not run: it
//!   must exist and be executable.
//! - Every block runs in the repository root with `bash -euo pipefail`, `scimgate` (the built
//!   binary) first on `PATH`, `TOKEN` set to the token the demo printed, and `DEMO_API_KEY` set.
//!   A failing command fails the test, naming the README line of its block.
//! - Console blocks: a line starting with `$ ` is a command (a trailing `\` continues it), the
//!   lines up to the next command are its output (stdout and stderr), compared line by line. In
//!   an output line `...` matches any text; a line of only `...` matches any number of lines.
//! - A block whose first lines hold `# readme: needs SERVICE` (e.g. `# readme: needs postgres`)
//!   is skipped with "needs SERVICE" printed: for blocks that need an external service this test
//!   does not start.
//! - Not runnable here, listed in `walk::NOT_RUNNABLE` with the reason, and checked another way:
//!   `docker build` / `docker run` (no Docker engine: flags, mounts, env var names and paths are
//!   checked against Dockerfile, config/scimgate.yaml and the mappings, `docker.rs`), the Entra
//!   admin center steps (a web UI: the Tenant URL's path and flag and the Test-connection probe
//!   run against the demo; `scimgate token`'s hash line is checked against its token, `demo.rs`).
//! - Every script the README names in inline code (`scripts/….sh`, `bench/….sh`) must exist and
//!   be executable.
//!
//! A new README section is picked up as it is; nothing here lists the README's blocks.

mod blocks;
mod demo;
mod docker;
mod walk;

use std::path::Path;
use std::time::Instant;

use blocks::{output_differs, parse_blocks};
use demo::{Demo, check_entra};
use walk::{Failure, Shell, walk};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn every_readme_command_runs() {
    let began = Instant::now();
    let readme = std::fs::read_to_string(root().join("README.md")).expect("read README.md");
    let mut demo = Demo::new().expect("a scratch directory with bin/scimgate");
    let result = walk(&readme, root(), &mut |line| demo.start(root(), line));
    let (summary, shell) = result.unwrap_or_else(|f| panic!("{f}"));
    check_entra(&readme, &shell).unwrap_or_else(|f| panic!("{f}"));
    assert!(
        demo.alive(),
        "{}",
        Failure::new(1, "the demo died during the run")
    );
    let skipped = if summary.skipped.is_empty() {
        String::new()
    } else {
        format!(" ({})", summary.skipped.join(", "))
    };
    println!(
        "README commands: {} blocks run or checked, {} skipped{skipped}; {} s",
        summary.ran,
        summary.skipped.len(),
        began.elapsed().as_secs()
    );
}

/// Walks a small README through the same code without a demo: the quick start gives a shell
/// whose `127.0.0.1:8080` goes nowhere, enough for blocks that do not talk to it.
fn walk_fake(readme: &str) -> Result<(), Failure> {
    let scratch = Demo::new().expect("a scratch directory");
    let mut start = |_line: usize| {
        Ok::<Shell, Failure>(Shell {
            root: root().to_path_buf(),
            port: 9,
            env: vec![("TOKEN".into(), "fake-token".into())],
            work: scratch.work.clone(),
        })
    };
    walk(readme, root(), &mut start).map(|_| ())
}

const QUICK: &str =
    "# t\n\n```sh\ncargo run --release -- demo   # the demo\nscripts/test.sh\n```\n";

#[test]
fn a_good_small_readme_passes() {
    let readme = format!(
        "{QUICK}\n```console\n$ echo hello; echo \"TOKEN=$TOKEN\" >&2\nhello\nTOKEN=...\n$ printf 'a\\nb\\nc\\n' \\\n  | tail -n 1\n...\nc\n```\n\n```sh\ntrue\n```\n\n```yaml\nnot: run\n```\n"
    );
    walk_fake(&readme).unwrap_or_else(|f| panic!("a good README failed: {f}"));
}

#[test]
fn a_broken_readme_fails_naming_the_line() {
    let wrong_output = format!("{QUICK}\ntext\n\n```console\n$ echo hello\ngoodbye\n```\n");
    let failure = walk_fake(&wrong_output).expect_err("a console block with wrong output passed");
    assert_eq!(failure.line, 10, "{failure}");
    assert!(
        failure
            .to_string()
            .starts_with("FAIL README.md:10: `echo hello`: output differs"),
        "{failure}"
    );
    assert!(failure.message.contains("| hello"), "{failure}");

    let false_block = format!("{QUICK}\n```bash\ntrue\nfalse\necho never\n```\n");
    let failure = walk_fake(&false_block).expect_err("an sh block with `false` passed");
    assert_eq!(failure.line, 8, "{failure}");
    assert!(
        failure.message.contains("a command of this block failed"),
        "{failure}"
    );

    let failing_command = format!("{QUICK}\n```console\n$ echo out; exit 3\nout\n```\n");
    let failure = walk_fake(&failing_command).expect_err("a failing console command passed");
    assert_eq!(
        (
            failure.line,
            failure.message.starts_with("`echo out; exit 3` failed")
        ),
        (8, true),
        "{failure}"
    );

    let no_lang = format!("{QUICK}\n```\nls\n```\n");
    assert_eq!(
        walk_fake(&no_lang)
            .map_err(|f| f.line)
            .expect_err("a fence without language passed"),
        8
    );

    let no_quick = "```sh\ncargo run -- demo\nscripts/test.sh\n```\n";
    let failure = walk_fake(no_quick).expect_err("a README without the quick start passed");
    assert_eq!(failure.line, 1, "{failure}");

    let missing_script = format!("{QUICK}\nRun `scripts/no-such-script.sh` now.\n");
    let failure = walk_fake(&missing_script).expect_err("a missing named script passed");
    assert_eq!(failure.line, 8, "{failure}");

    let unterminated = format!("{QUICK}\n```sh\ntrue\n");
    assert_eq!(
        walk_fake(&unterminated)
            .map_err(|f| f.line)
            .expect_err("an open fence passed"),
        8
    );
}

#[test]
fn skipped_blocks_are_not_run() {
    let readme = format!("{QUICK}\n  ```sh\n  # readme: needs postgres\n  false\n  ```\n");
    walk_fake(&readme).unwrap_or_else(|f| panic!("a `needs` block ran: {f}"));
    let blocks = parse_blocks(&readme).expect("parse");
    assert_eq!(
        blocks[1].body,
        ["# readme: needs postgres", "false"],
        "indented body de-indented"
    );
}

#[test]
fn output_wildcards() {
    let lines = |t: &str| t.split('\n').map(str::to_string).collect::<Vec<_>>();
    assert!(output_differs(&lines("a ... c\n...\nz"), "a b c  \nx\ny\nz\n").is_none());
    assert!(output_differs(&lines("...\nz"), "z").is_none());
    assert!(output_differs(&[], "").is_none());
    let report = output_differs(&lines("a\nb\nc"), "a\nB\nc").expect("B is not b");
    assert!(
        report.starts_with("output differs at expected line 2: \"b\""),
        "{report}"
    );
    assert!(
        output_differs(&lines("a...a"), "a").is_some(),
        "prefix and suffix overlap"
    );
    assert!(
        output_differs(&lines("a"), "a\nmore").is_some(),
        "extra output"
    );
}
