//! Debian changelog entries (VersionReleased events) into one search document per package:
//! its latest version, urgency (a filter), the latest changes, and every bug number (#123456)
//! any of its releases closed, kept in the plugin's own `bugs` table.
#![no_std]

use projector_plugin::{self as pj, Encoder, Value};

pj::export_abi_version!();

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    core::arch::wasm32::unreachable()
}

static mut FIELDS: [u8; 262144] = [0; 262144];
static mut SCRATCH: [u8; 131072] = [0; 131072];
static mut BUGS: [u8; 65536] = [0; 65536];
static mut OUT: [u8; 65536] = [0; 65536];
static mut DOCUMENT: [u8; 200000] = [0; 200000];

pj::export_apply_each!(apply);

/// Where the first `#` of `bytes` is, read eight bytes at a time: an interpreter pays per
/// instruction, and this is most of the plugin's own work.
fn find_hash(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    let mut at = 0;
    while at + 8 <= bytes.len() {
        let word = unsafe { core::ptr::read_unaligned(bytes.as_ptr().add(at) as *const u64) } ^ (ONES * b'#' as u64);
        if word.wrapping_sub(ONES) & !word & (ONES << 7) != 0 {
            break;
        }
        at += 8;
    }
    bytes[at..].iter().position(|&b| b == b'#').map(|found| at + found)
}

fn text<'a>(value: Option<Value<'a>>) -> &'a str {
    match value {
        Some(Value::Text(text)) => text,
        _ => "",
    }
}

fn apply() -> i32 {
    // One event at a time: the buffers are this call's alone.
    let (fields, scratch, bugs, out, document) = unsafe { (&mut FIELDS, &mut SCRATCH, &mut BUGS, &mut OUT, &mut DOCUMENT) };
    let mut values = match pj::event_values("$.data.package\0$.data.version\0$.data.urgency\0$.data.changes", fields) {
        Some(values) => values,
        None => {
            pj::fail("the entry's fields pass 256 KiB");
            return 1;
        }
    };
    let (package, version, urgency, changes) =
        (text(values.next_value()), text(values.next_value()), text(values.next_value()), text(values.next_value()));
    if package.is_empty() {
        pj::fail("data.package is missing");
        return 1;
    }

    // Every "#digits" (3 to 8 digits) in the changes is a bug this release closed; they go in
    // with one statement, as a JSON array of strings.
    let mut list = Encoder::new(bugs);
    list.put(b"[");
    let bytes = changes.as_bytes();
    let mut rest = bytes;
    while let Some(at) = find_hash(rest) {
        let digits = rest[at + 1..].iter().take_while(|b| b.is_ascii_digit()).count();
        if (3..=8).contains(&digits) {
            if list.len() > 1 {
                list.put(b",");
            }
            list.put(b"\"");
            list.put(&rest[at..at + 1 + digits]);
            list.put(b"\"");
        }
        rest = &rest[at + 1 + digits..];
    }
    list.put(b"]");
    if !list.fits() {
        pj::fail("too many bug numbers in one entry");
        return 1;
    }
    if list.len() > 2 {
        let insert = "INSERT OR IGNORE INTO bugs(package, bug) SELECT ?1, value FROM json_each(?2)";
        // The array holds only '#', digits, quotes, commas and brackets: ASCII.
        let json = unsafe { core::str::from_utf8_unchecked(list.bytes()) };
        if pj::exec(insert, &[Value::Text(package), Value::Text(json)], scratch).is_err() {
            return 1;
        }
    }
    let select = "SELECT coalesce(group_concat(bug, ' '), '') FROM (SELECT bug FROM bugs WHERE package = ?1 ORDER BY bug)";
    let bugs = match pj::query(select, &[Value::Text(package)], scratch, out) {
        Ok(mut rows) => match rows.next_value() {
            Some(Value::Text(text)) => text,
            _ => "",
        },
        Err(_) => return 1,
    };
    let fields = [
        ("package", Value::Text(package)),
        ("version", Value::Text(version)),
        ("urgency", Value::Text(urgency)),
        ("changes", Value::Text(changes)),
        ("bugs", Value::Text(bugs)),
    ];
    match pj::upsert(package, &fields, document) {
        Ok(()) => 0,
        Err(()) => 1,
    }
}
