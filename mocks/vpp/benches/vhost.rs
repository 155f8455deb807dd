//! Frames per second through mock-vpp's L2 bridge between two vhost-user interfaces, next
//! to DPDK testpmd `io` forwarding between two `net_vhost` ports, with the same testpmd
//! `net_virtio_user` endpoints on both (see `vhost/through.rs`), at 64 and 1500 bytes;
//! `vs pmd` is mock-vpp's rate over testpmd's in the same run.
//!
//! `cargo bench -p mock-vpp --bench vhost` prints a table. Takes about 30 seconds.

#[path = "bridge/cpu.rs"]
mod cpu;
#[allow(dead_code)]
#[path = "bridge/mock.rs"]
mod mock;
#[allow(dead_code)]
#[path = "bridge/testpmd.rs"]
mod testpmd;
#[path = "vhost/through.rs"]
mod through;

const FRAME_SIZES: [usize; 2] = [64, 1500];
const SAMPLES: usize = 3;

fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

fn main() {
    if testpmd::find().is_none() {
        println!("dpdk-testpmd not installed: nothing to compare");
        return;
    }
    println!("| frame | forwarder | Mpps (median) | fwd CPU% | fwd ns/f | vs pmd |");
    println!("|---|---|---|---|---|---|");
    for len in FRAME_SIZES {
        let runs = [through::Forwarder::MockVpp, through::Forwarder::TestpmdIo]
            .map(|f| (f, through::run(f, len, SAMPLES)));
        let pps = |r: &Result<through::Through, String>| r.as_ref().ok().map(|t| median(&t.rates));
        let pmd = pps(&runs[1].1);
        for (f, r) in &runs {
            let name = match f {
                through::Forwarder::MockVpp => "mock-vpp bridge (bd 4)",
                through::Forwarder::TestpmdIo => "testpmd io, one fwd lcore",
            };
            match r {
                Ok(t) => {
                    let p = median(&t.rates);
                    let ratio = match (f, pmd) {
                        (through::Forwarder::MockVpp, Some(q)) if q > 0.0 => {
                            format!("{:.3}", p / q)
                        }
                        _ => "-".into(),
                    };
                    println!(
                        "| {len} B | {name} | {:.3} | {:.0} | {:.0} | {ratio} |",
                        p / 1e6,
                        t.forwarder_cpu * 100.0,
                        t.forwarder_ns
                    );
                }
                Err(e) => println!("| {len} B | {name} | failed: {e} | | | |"),
            }
        }
    }
}
