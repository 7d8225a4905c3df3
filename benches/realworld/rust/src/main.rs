//! The Rust program of the real-program set: hash maps and sorting over generated words,
//! SHA-256 of a buffer, an n-body simulation, and files (written, listed, read back and
//! removed in the current folder). Prints results only (no times), the same under wasm and
//! native. Argument: the size (default 20).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::fs;
use std::io::{BufRead, BufReader, Write};

/// The same linear congruential generator as the C and script drivers.
struct Lcg(u32);

impl Lcg {
    fn next(&mut self, m: u32) -> u32 {
        self.0 = self.0.wrapping_mul(1_103_515_245).wrapping_add(12_345) & 0x7fff_ffff;
        self.0 % m
    }
}

fn sha256(data: &[u8]) -> [u8; 32] {
    const K: [u32; 64] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
        0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
        0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
        0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
        0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
        0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
        0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
        0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
        0xc67178f2,
    ];
    let mut h: [u32; 8] = [
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
        0x5be0cd19,
    ];
    let mut message = data.to_vec();
    message.push(0x80);
    while message.len() % 64 != 56 {
        message.push(0);
    }
    message.extend_from_slice(&(data.len() as u64 * 8).to_be_bytes());
    for block in message.chunks(64) {
        let mut w = [0u32; 64];
        for (i, word) in block.chunks(4).enumerate() {
            w[i] = u32::from_be_bytes(word.try_into().unwrap());
        }
        for i in 16..64 {
            let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
            let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16]
                .wrapping_add(s0)
                .wrapping_add(w[i - 7])
                .wrapping_add(s1);
        }
        let mut v = h;
        for i in 0..64 {
            let s1 = v[4].rotate_right(6) ^ v[4].rotate_right(11) ^ v[4].rotate_right(25);
            let ch = (v[4] & v[5]) ^ (!v[4] & v[6]);
            let t1 = v[7]
                .wrapping_add(s1)
                .wrapping_add(ch)
                .wrapping_add(K[i])
                .wrapping_add(w[i]);
            let s0 = v[0].rotate_right(2) ^ v[0].rotate_right(13) ^ v[0].rotate_right(22);
            let maj = (v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]);
            let t2 = s0.wrapping_add(maj);
            v = [
                t1.wrapping_add(t2),
                v[0],
                v[1],
                v[2],
                v[3].wrapping_add(t1),
                v[4],
                v[5],
                v[6],
            ];
        }
        for (a, b) in h.iter_mut().zip(v) {
            *a = a.wrapping_add(b);
        }
    }
    let mut out = [0u8; 32];
    for (chunk, word) in out.chunks_mut(4).zip(h) {
        chunk.copy_from_slice(&word.to_be_bytes());
    }
    out
}

/// Energy of a five-body system after `steps` steps of 0.01 (the benchmarks game's n-body).
fn nbody(steps: usize) -> (f64, f64) {
    let mut bodies: Vec<([f64; 3], [f64; 3], f64)> = (0..5)
        .map(|i| {
            let f = i as f64;
            ([f * 1.1, -f * 0.7, f * 0.3], [0.01 * f, 0.02, -0.01 * f], 1.0 + f * 0.1)
        })
        .collect();
    let energy = |bodies: &[([f64; 3], [f64; 3], f64)]| {
        let mut e = 0.0;
        for (i, (p, v, m)) in bodies.iter().enumerate() {
            e += 0.5 * m * (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]);
            for (q, _, n) in &bodies[i + 1..] {
                let d: f64 = (0..3).map(|k| (p[k] - q[k]).powi(2)).sum();
                e -= m * n / d.sqrt();
            }
        }
        e
    };
    let before = energy(&bodies);
    for _ in 0..steps {
        for i in 0..bodies.len() {
            for j in i + 1..bodies.len() {
                let d: Vec<f64> = (0..3).map(|k| bodies[i].0[k] - bodies[j].0[k]).collect();
                let dist2: f64 = d.iter().map(|x| x * x).sum();
                let mag = 0.01 / (dist2 * dist2.sqrt());
                let (mi, mj) = (bodies[i].2, bodies[j].2);
                for k in 0..3 {
                    bodies[i].1[k] -= d[k] * mj * mag;
                    bodies[j].1[k] += d[k] * mi * mag;
                }
            }
        }
        for (p, v, _) in &mut bodies {
            for k in 0..3 {
                p[k] += 0.01 * v[k];
            }
        }
    }
    (before, energy(&bodies))
}

fn main() -> std::io::Result<()> {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(20);
    let mut rng = Lcg(42);

    let mut counts: HashMap<String, usize> = HashMap::new();
    let words: Vec<String> = (0..n * 2000)
        .map(|_| format!("w{}", rng.next(n as u32 * 50)))
        .collect();
    for w in &words {
        *counts.entry(w.clone()).or_default() += 1;
    }
    let mut ranked: Vec<(&String, &usize)> = counts.iter().collect();
    ranked.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    println!("words {} {} {} {}", words.len(), counts.len(), ranked[0].0, ranked[0].1);

    let mut numbers: Vec<u32> = (0..n * 5000).map(|_| rng.next(1_000_000)).collect();
    numbers.sort_unstable();
    println!(
        "sort {} {} {} {}",
        numbers.len(),
        numbers[0],
        numbers[numbers.len() / 2],
        numbers[numbers.len() - 1]
    );

    let buffer: Vec<u8> = (0..n * 50_000).map(|i| (i * 31 % 251) as u8).collect();
    let digest = sha256(&buffer).iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    });
    println!("sha256 {} {digest}", buffer.len());

    let (before, after) = nbody(n * 5000);
    println!("nbody {before:.9} {after:.9}");

    fs::create_dir_all("rust-out")?;
    for (i, chunk) in words.chunks(words.len() / 4).enumerate() {
        let mut file = fs::File::create(format!("rust-out/part{i}.txt"))?;
        for w in chunk {
            writeln!(file, "{w}")?;
        }
    }
    let mut names: Vec<String> = fs::read_dir("rust-out")?
        .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect::<Result<_, _>>()?;
    names.sort();
    let mut lines = 0;
    for name in &names {
        lines += BufReader::new(fs::File::open(format!("rust-out/{name}"))?)
            .lines()
            .count();
    }
    fs::remove_file("rust-out/part0.txt")?;
    println!("files {} {lines} {}", names.join(","), fs::read_dir("rust-out")?.count());
    Ok(())
}
