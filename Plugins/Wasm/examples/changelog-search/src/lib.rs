//! Debian changelog entries (VersionReleased events) into one search document per package:
//! its latest version, urgency (a filter), the latest changes, and every bug number (#123456)
//! any of its releases closed, kept in the plugin's own `bugs` table.
#![no_std]

use projector_plugin::{self as pj, Value};

pj::export_abi_version!();

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    core::arch::wasm32::unreachable()
}

static mut FIELD: [u8; 65536] = [0; 65536];
static mut SMALL: [[u8; 256]; 3] = [[0; 256]; 3];
static mut SCRATCH: [u8; 131072] = [0; 131072];
static mut OUT: [u8; 65536] = [0; 65536];
static mut DOCUMENT: [u8; 200000] = [0; 200000];

#[no_mangle]
pub extern "C" fn projector_apply() -> i32 {
    // One event at a time: the buffers are this call's alone.
    let (changes, small, scratch, out, document) = unsafe { (&mut FIELD, &mut SMALL, &mut SCRATCH, &mut OUT, &mut DOCUMENT) };
    let [package_buf, version_buf, urgency_buf] = small;
    let package = match pj::event("$.data.package", package_buf) {
        Some(p) if !p.is_empty() => p,
        _ => {
            pj::fail("data.package is missing");
            return 1;
        }
    };
    let version = pj::event("$.data.version", version_buf).unwrap_or("");
    let urgency = pj::event("$.data.urgency", urgency_buf).unwrap_or("");
    let changes = pj::event("$.data.changes", changes).unwrap_or("");

    // Every "#digits" in the changes is a bug this release closed.
    let bytes = changes.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'#' {
            let start = i + 1;
            let mut end = start;
            while end < bytes.len() && bytes[end].is_ascii_digit() {
                end += 1;
            }
            if end - start >= 3 && end - start <= 8 {
                let bug = &changes[i..end];
                let insert = "INSERT OR IGNORE INTO bugs(package, bug) VALUES (?1, ?2)";
                if pj::exec(insert, &[Value::Text(package), Value::Text(bug)], scratch).is_err() {
                    return 1;
                }
            }
            i = end.max(i + 1);
        } else {
            i += 1;
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
