//! Starts threads that share memory and WASI: `threads N` has N threads count the primes
//! of consecutive ranges (shared atomics and a mutex-guarded list), send partial sums over a
//! channel, and each write a file; the main thread joins them and prints what they found.
//! `threads exit STATUS` has a thread end the whole program with STATUS while the main
//! thread waits.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

const LIMIT: u64 = 200_000;

/// Held while a thread opens a file (see its use).
static FILES: Mutex<()> = Mutex::new(());

fn is_prime(n: u64) -> bool {
    n >= 2 && (2..).take_while(|d| d * d <= n).all(|d| n % d != 0)
}

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("exit") {
        let status: i32 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(1);
        std::thread::spawn(move || {
            println!("thread: exiting with {status}");
            std::process::exit(status);
        });
        loop {
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    let threads: u64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(4);
    let count = Arc::new(AtomicU64::new(0));
    let largest = Arc::new(Mutex::new(Vec::new()));
    let (sums, received) = mpsc::channel();
    std::fs::create_dir_all("threads-out")?;
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let (count, largest, sums) = (count.clone(), largest.clone(), sums.clone());
            std::thread::spawn(move || -> std::io::Result<()> {
                let mut sum = 0u64;
                let mut mine = 0u64;
                let mut last = 0;
                for n in t * LIMIT / threads..(t + 1) * LIMIT / threads {
                    if is_prime(n) {
                        sum += n;
                        mine += 1;
                        last = n;
                    }
                }
                count.fetch_add(mine, Ordering::Relaxed);
                largest.lock().unwrap().push((t, last));
                sums.send((t, sum)).unwrap();
                // wasi-libc turns a relative path into an absolute one in a buffer all
                // threads share (`make_absolute` in `chdir.c`), so two threads opening
                // files at once may both open the path one of them wrote there.
                let _opening = FILES.lock().unwrap();
                std::fs::write(format!("threads-out/{t}.txt"), format!("{mine} primes\n"))
            })
        })
        .collect();
    drop(sums);
    for handle in handles {
        handle.join().unwrap()?;
    }
    let mut partial: Vec<(u64, u64)> = received.iter().collect();
    partial.sort();
    let mut largest = largest.lock().unwrap().clone();
    largest.sort();
    println!("{} threads, primes below {LIMIT}: {}", threads, count.load(Ordering::Relaxed));
    for ((t, sum), (_, last)) in partial.iter().zip(&largest) {
        println!("thread {t}: sum {sum}, largest {last}");
    }
    println!("total {}", partial.iter().map(|(_, s)| s).sum::<u64>());
    Ok(())
}
