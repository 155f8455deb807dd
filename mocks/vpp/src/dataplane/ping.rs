//! `ping <ip> [repeat N] [interval S]`, as VPP's CLI runs it: ARP for the next hop, echo
//! requests out of the interface whose subnet holds the address, replies with their
//! round-trip times, and VPP's closing statistics line. Runs without holding the model
//! lock while it waits, so the data plane and other clients carry on.

use std::fmt::Write;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::mpsc::channel;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::frame::{self, Arp, Echo};
use crate::model::Vpp;

/// Data bytes per echo request: with the IP and ICMP headers VPP's default 116 bytes.
const DATA_LEN: usize = 88;
const TIMEOUT: Duration = Duration::from_secs(1);

struct Route {
    sw: u32,
    src: Ipv4Addr,
    mac: [u8; 6],
}

fn route(vpp: &Vpp, dst: Ipv4Addr) -> Option<Route> {
    vpp.interfaces.values().find_map(|i| {
        i.addresses.iter().find_map(|(ip, len)| match ip {
            IpAddr::V4(src) if i.admin_up && i.bridge.is_none() => {
                let mask = if *len == 0 {
                    0
                } else {
                    u32::MAX << (32 - u32::from(*len))
                };
                (u32::from(*src) & mask == u32::from(dst) & mask).then_some(Route {
                    sw: i.sw_if_index,
                    src: *src,
                    mac: i.mac,
                })
            }
            _ => None,
        })
    })
}

fn parse(args: &[&str]) -> Result<(Ipv4Addr, u32, Duration), String> {
    let mut it = args.iter();
    let ip: Ipv4Addr = it.next().and_then(|a| a.parse().ok()).ok_or_else(|| {
        format!(
            "ping: expecting IPv4 address but got `{}'\n",
            args.join(" ")
        )
    })?;
    let (mut repeat, mut interval) = (5, Duration::from_secs(1));
    while let Some(word) = it.next() {
        let value = it
            .next()
            .ok_or_else(|| format!("ping: {word} needs a value\n"))?;
        match *word {
            "repeat" => {
                repeat = value
                    .parse()
                    .map_err(|_| format!("ping: bad repeat `{value}'\n"))?
            }
            "interval" => {
                let s: f64 = value
                    .parse()
                    .map_err(|_| format!("ping: bad interval `{value}'\n"))?;
                interval = Duration::from_secs_f64(s.clamp(0.0, 3600.0));
            }
            other => return Err(format!("unknown input `{other}'\n")),
        }
    }
    Ok((ip, repeat, interval))
}

/// Runs the CLI's ping; (retval, output).
pub fn ping(model: &Arc<Mutex<Vpp>>, args: &[&str]) -> (i32, String) {
    let (dst, repeat, interval) = match parse(args) {
        Ok(p) => p,
        Err(e) => return (-1, e),
    };
    let (route, dp) = {
        let vpp = model.lock().unwrap_or_else(|e| e.into_inner());
        (route(&vpp, dst), vpp.dataplane.clone())
    };
    let (Some(route), Some(dp)) = (route, dp) else {
        return (
            0,
            format!("\n\nStatistics: {repeat} sent, 0 received, 100% packet loss\n"),
        );
    };
    let mut out = String::new();
    let (mut sent, mut received) = (0u32, 0u32);
    let id = (std::process::id() as u16) ^ (Instant::now().elapsed().subsec_nanos() as u16);
    for seq in 1..=repeat {
        let started = Instant::now();
        sent += 1;
        if let Some(mac) = neighbor(model, &dp, &route, dst) {
            let (tx, rx) = channel();
            dp.pings
                .waiting
                .lock()
                .expect("pings")
                .insert((id, seq as u16), tx);
            let echo = Echo {
                reply: false,
                src: route.src,
                dst,
                ttl: 64,
                id,
                seq: seq as u16,
                data: (0..DATA_LEN).map(|b| b as u8).collect(),
            };
            let t0 = Instant::now();
            dp.send(route.sw, frame::echo(mac, route.mac, &echo));
            match rx.recv_timeout(TIMEOUT) {
                Ok((at, ttl, len)) => {
                    received += 1;
                    let ms = at.duration_since(t0).as_secs_f64() * 1000.0;
                    let ms = format!("{ms:.4}");
                    let ms = ms.strip_prefix('0').unwrap_or(&ms);
                    let _ = writeln!(
                        out,
                        "{len} bytes from {dst}: icmp_seq={seq} ttl={ttl} time={ms} ms"
                    );
                }
                Err(_) => {
                    dp.pings
                        .waiting
                        .lock()
                        .expect("pings")
                        .remove(&(id, seq as u16));
                }
            }
        }
        if seq < repeat {
            std::thread::sleep(interval.saturating_sub(started.elapsed()));
        }
    }
    let loss = (100 * (sent - received)).checked_div(sent).unwrap_or(0);
    let _ = write!(
        out,
        "\n\nStatistics: {sent} sent, {received} received, {loss}% packet loss\n"
    );
    (0, out)
}

/// The neighbour's MAC, resolving it with ARP when unknown.
fn neighbor(
    model: &Arc<Mutex<Vpp>>,
    dp: &super::DataPlane,
    route: &Route,
    dst: Ipv4Addr,
) -> Option<[u8; 6]> {
    let (tx, rx) = channel();
    {
        // Registered under the model lock, so an answer cannot slip in between.
        let vpp = model.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = vpp.neighbors.get(&(route.sw, dst)) {
            return Some(n.mac);
        }
        dp.pings
            .resolving
            .lock()
            .expect("pings")
            .insert((route.sw, dst), tx);
    }
    let request = Arp {
        op: frame::ARP_REQUEST,
        sha: route.mac,
        spa: route.src,
        tha: [0; 6],
        tpa: dst,
    };
    dp.send(route.sw, frame::arp(frame::BROADCAST, request));
    let mac = rx.recv_timeout(TIMEOUT).ok();
    if mac.is_none() {
        dp.pings
            .resolving
            .lock()
            .expect("pings")
            .remove(&(route.sw, dst));
    }
    mac
}
