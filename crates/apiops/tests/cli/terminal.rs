//! What a person sees at a terminal: every line of `health`, `errors`, `audit` and `demo` fits
//! an 80- and a 120-column tmux pane (read back from the captured pane with wrapped lines
//! joined, so a line the terminal had to wrap counts at its full length); pipes get lines
//! whole; `TERM=dumb` drops the symbols; completions load in bash; `apiops man` renders.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::util::{Sandbox, apiops, base, run, sim};

/// `text` as a shell word.
fn quoted(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// Runs `args` in a detached tmux pane `width` columns wide, with only `env` set, and returns
/// the pane's whole history with wrapped lines joined.
fn in_tmux(
    sb: &Sandbox,
    name: &str,
    width: usize,
    env: &[(String, String)],
    args: &[&str],
) -> String {
    let dir = sb.root().join(format!("tmux-{name}-{width}"));
    std::fs::create_dir_all(&dir).expect("mkdir");
    let done = dir.join("done");
    let mut script = String::from("env -i");
    for (k, v) in env {
        script.push_str(&format!(" {}={}", k, quoted(v)));
    }
    script.push(' ');
    script.push_str(&quoted(env!("CARGO_BIN_EXE_apiops")));
    for a in args {
        script.push(' ');
        script.push_str(&quoted(a));
    }
    // The marker is written after the command, however it ends.
    let script = format!(
        "#!/bin/sh\n({} ; echo $? > {}.tmp && mv {}.tmp {})\n",
        script,
        quoted(&done.display().to_string()),
        quoted(&done.display().to_string()),
        quoted(&done.display().to_string()),
    );
    let script_path = dir.join("run.sh");
    std::fs::write(&script_path, script).expect("write script");
    let conf = dir.join("tmux.conf");
    std::fs::write(
        &conf,
        "set -g history-limit 100000\nset -g remain-on-exit on\n",
    )
    .expect("write tmux.conf");
    let socket = format!("apiops-test-{}-{name}-{width}", std::process::id());
    let tmux = |args: &[&str]| {
        Command::new("tmux")
            .args(["-L", &socket, "-f"])
            .arg(&conf)
            .args(args)
            .output()
            .expect("tmux is installed (.ci/run installs it)")
    };
    let started = tmux(&[
        "new-session",
        "-d",
        "-x",
        &width.to_string(),
        "-y",
        "40",
        &format!("sh {}", quoted(&script_path.display().to_string())),
    ]);
    assert!(
        started.status.success(),
        "tmux: {}",
        String::from_utf8_lossy(&started.stderr)
    );
    let deadline = Instant::now() + Duration::from_secs(120);
    while !done.exists() {
        assert!(Instant::now() < deadline, "{args:?} did not finish in tmux");
        std::thread::sleep(Duration::from_millis(50));
    }
    let captured = tmux(&["capture-pane", "-p", "-J", "-S", "-", "-E", "-"]);
    let _ = tmux(&["kill-server"]);
    let code = std::fs::read_to_string(&done).expect("exit code");
    let text = String::from_utf8_lossy(&captured.stdout).into_owned();
    assert!(
        matches!(code.trim(), "0" | "3"),
        "{args:?} exited {code} in tmux:\n{text}"
    );
    text
}

/// The lines of `text` wider than `width` (display width, trailing blanks ignored).
fn too_wide(text: &str, width: usize) -> Vec<String> {
    text.lines()
        .map(str::trim_end)
        .filter(|l| textwrap::core::display_width(l) > width)
        .map(|l| format!("{} columns: {l}", textwrap::core::display_width(l)))
        .collect()
}

#[test]
fn every_line_fits_80_and_120_columns_in_tmux() {
    let s = sim(base());
    let sb = Sandbox::new();
    let mut env: Vec<(String, String)> = s
        .env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect();
    env.push(("HOME".into(), sb.root().display().to_string()));
    env.push((
        "XDG_DATA_HOME".into(),
        sb.root().join("data").display().to_string(),
    ));
    env.push(("APIOPS_DATABASE_URL".into(), sb.sqlite_url("events.db")));
    env.push(("TERM".into(), "screen".into()));
    let report = sb.root().join("demo-report.md").display().to_string();
    let demo_env = [
        ("HOME".to_owned(), sb.root().display().to_string()),
        ("TERM".to_owned(), "screen".to_owned()),
    ];
    for width in [80, 120] {
        for (name, args, env, expect) in [
            ("health", vec!["health"], &env[..], "Overall:"),
            (
                "errors",
                vec!["errors", "--since", "7d"],
                &env[..],
                "Recommendations:",
            ),
            ("audit", vec!["audit"], &env[..], "finding(s)"),
            (
                "demo",
                vec!["demo", "--messages", "2000", "--report", report.as_str()],
                &demo_env[..],
                "report written to",
            ),
        ] {
            let text = in_tmux(&sb, name, width, env, &args);
            assert!(text.contains(expect), "{name} at {width}:\n{text}");
            if name == "demo" {
                // Each section once; the report goes to its file, not the screen.
                assert_eq!(text.matches("=== Health ===").count(), 1, "{text}");
                assert!(!text.contains("# apiops report"), "{text}");
                let written = std::fs::read_to_string(&report).expect("the report file");
                assert!(written.starts_with("# apiops report"), "{written}");
            }
            let wide = too_wide(&text, width);
            assert!(
                wide.is_empty(),
                "{name} at {width} columns has lines too wide:\n{}",
                wide.join("\n")
            );
        }
    }
}

#[test]
fn pipes_get_lines_whole_and_markdown_is_unwrapped() {
    let s = sim(base());
    let sb = Sandbox::new();
    let r = run(apiops(&sb, &s, &["twilio", "stripe", "openai"]).arg("audit"));
    assert_eq!(r.code, Some(0), "{}", r.all());
    assert!(
        r.stdout.lines().any(|l| l.len() > 200),
        "a pipe gets each finding on one line:\n{}",
        r.stdout
    );
    let r = run(apiops(&sb, &s, &["twilio", "stripe", "openai"])
        .args(["audit", "--format", "md"])
        .env("COLUMNS", "80"));
    assert!(
        r.stdout
            .lines()
            .any(|l| l.starts_with("| critical |") && l.len() > 120)
    );
}

#[test]
fn term_dumb_drops_the_symbols() {
    let s = sim(base());
    let sb = Sandbox::new();
    let r = run(apiops(&sb, &s, &["stripe"])
        .arg("health")
        .env("TERM", "dumb"));
    assert_eq!(r.code, Some(0), "{}", r.all());
    r.assert_stdout_has("Stripe  Operational");
    assert!(!r.stdout.contains('✓'), "{}", r.stdout);
    let r = run(apiops(&sb, &s, &["stripe"])
        .arg("health")
        .env("TERM", "xterm"));
    r.assert_stdout_has("✓ Operational");
}

#[test]
fn completions_load_in_bash() {
    let sb = Sandbox::new();
    let r = run(sb.apiops().args(["completions", "bash"]));
    assert_eq!(r.code, Some(0), "{}", r.all());
    let file = sb.root().join("apiops.bash");
    std::fs::write(&file, &r.stdout).expect("write");
    let out = Command::new("bash")
        .args(["--norc", "--noprofile", "-c"])
        .arg(format!(
            "source {} && complete -p apiops",
            quoted(&file.display().to_string())
        ))
        .output()
        .expect("bash");
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        said.contains("-F _apiops") && said.trim_end().ends_with("apiops"),
        "{said}"
    );
    for shell in ["zsh", "fish", "powershell"] {
        let r = run(sb.apiops().args(["completions", shell]));
        assert_eq!(r.code, Some(0), "{shell}: {}", r.all());
        assert!(r.stdout.contains("health"), "{shell}");
    }
}

#[test]
fn man_renders_the_page_and_writes_one_per_command() {
    let sb = Sandbox::new();
    let r = run(sb.apiops().arg("man"));
    assert_eq!(r.code, Some(0), "{}", r.all());
    r.assert_stdout_has(".TH apiops 1");
    let dir = sb.root().join("man");
    let r = run(sb.apiops().args(["man", "--dir"]).arg(&dir));
    assert_eq!(r.code, Some(0), "{}", r.all());
    for page in ["apiops.1", "apiops-audit.1", "apiops-completions.1"] {
        assert!(Path::new(&dir).join(page).exists(), "{page}: {}", r.stdout);
    }
}
