//! `userspace`: the CNI plugin binary. All logic is in the library.

use std::io::{Read, Write};

/// Short-lived and small: a bump allocator (see `arena`) with 4 MiB before the system's.
#[global_allocator]
static ALLOCATOR: userspace_cni::arena::Arena<{ 4 << 20 }> = userspace_cni::arena::Arena::new();

fn main() {
    // Without CNI_COMMAND: `--help`, `--version`, or (no CNI variable at all: run by
    // hand) what this is, as the reference plugins print it.
    if std::env::var_os("CNI_COMMAND")
        .filter(|c| !c.is_empty())
        .is_none()
    {
        let args: Vec<String> = std::env::args().skip(1).collect();
        let cni_variables =
            std::env::vars_os().any(|(k, _)| k.to_string_lossy().starts_with("CNI_"));
        if let Some((text, to_stdout)) = userspace_cni::cni::about::by_hand(&args, cni_variables) {
            if to_stdout {
                print!("{text}");
            } else {
                eprint!("{text}");
            }
            return;
        }
    }
    let env = userspace_cni::cni::Environment::from_process();
    // Room for a netconf in one read (an empty Vec reads in ever larger steps from 32 bytes).
    let mut stdin = Vec::with_capacity(16 << 10);
    let needs_stdin = env
        .as_ref()
        .map(|e| e.command != userspace_cni::cni::Command::Version)
        .unwrap_or(true);
    if needs_stdin || !atty_stdin() {
        let _ = std::io::stdin().read_to_end(&mut stdin);
    }
    let out = userspace_cni::run(env, &stdin, true);
    if std::env::var_os("USERSPACE_ARENA_REPORT").is_some() {
        // How much of the arena one invocation used (BENCHMARKS.md, Kubernetes mode).
        eprintln!("arena: {} of {} bytes used", ALLOCATOR.used(), 4 << 20);
    }
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(out.stdout.as_bytes());
    let _ = stdout.flush();
    std::process::exit(if out.success { 0 } else { 1 });
}

/// Whether stdin is a terminal (VERSION run by hand: do not wait for input).
fn atty_stdin() -> bool {
    std::io::IsTerminal::is_terminal(&std::io::stdin())
}
