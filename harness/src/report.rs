//! What a scenario run saw: live lines while it runs, a table at the end, JSON for CI.

use std::time::Instant;

use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct StepReport {
    pub step: String,
    pub ok: bool,
    pub ms: f64,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub scenario: String,
    pub backend: String,
    pub passed: bool,
    pub steps: Vec<StepReport>,
    pub seconds: f64,
    #[serde(skip)]
    started: Option<Instant>,
}

impl Report {
    pub fn new(scenario: &str, backend: &str) -> Report {
        eprintln!("scenario {scenario} on the {backend} backend");
        Report {
            scenario: scenario.into(),
            backend: backend.into(),
            passed: true,
            steps: Vec::new(),
            seconds: 0.0,
            started: Some(Instant::now()),
        }
    }

    /// Runs `f` as one step, printing its line as soon as it ends.
    pub fn step<T>(&mut self, what: &str, f: impl FnOnce() -> crate::Result<T>) -> Option<T> {
        let t = Instant::now();
        let r = f();
        let ms = t.elapsed().as_secs_f64() * 1000.0;
        let (ok, detail, value) = match r {
            Ok(v) => (true, String::new(), Some(v)),
            Err(e) => (false, e.to_string(), None),
        };
        let mark = if ok { "\u{2714}" } else { "\u{2718}" };
        eprintln!("  {mark} {what:<58} {ms:>9.1} ms");
        if !ok {
            eprintln!("      {detail}");
            self.passed = false;
        }
        self.steps.push(StepReport {
            step: what.into(),
            ok,
            ms,
            detail,
        });
        value
    }

    /// Output worth seeing (vppctl, show commands), indented under the step.
    pub fn show(&self, title: &str, text: &str) {
        println!("--- {title}");
        for line in text.lines() {
            println!("    {line}");
        }
    }

    pub fn finish(&mut self) {
        self.seconds = self.started.map_or(0.0, |s| s.elapsed().as_secs_f64());
        eprintln!();
        eprintln!("{:<60} {:>6} {:>11}", "step", "result", "time");
        for s in &self.steps {
            let result = if s.ok { "ok" } else { "FAIL" };
            eprintln!("{:<60} {result:>6} {:>8.1} ms", truncate(&s.step, 60), s.ms);
        }
        let verdict = if self.passed { "PASSED" } else { "FAILED" };
        eprintln!(
            "{verdict}: {} on {} in {:.2} s ({} steps, {} failed)",
            self.scenario,
            self.backend,
            self.seconds,
            self.steps.len(),
            self.steps.iter().filter(|s| !s.ok).count()
        );
    }
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        s.chars().take(n - 1).chain(['\u{2026}']).collect()
    }
}
