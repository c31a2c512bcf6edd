//! Projector's WebAssembly plugin ABI, version 1, for Rust: `no_std`, no allocator.
//!
//! A plugin is a `cdylib` for `wasm32-unknown-unknown` exporting `projector_abi_version` (use
//! [`export_abi_version!`]) and `projector_apply`, called once per event, returning 0 when
//! applied, or, faster, `projector_apply_batch`, called once per transaction (use
//! [`export_apply_each!`]). It reads the event with [`event_values`] or [`event`], writes its own tables with [`exec`] and
//! [`query`], feeds its search index with [`upsert`] and [`delete`], and logs. Nothing else is
//! reachable: no files, clock, random numbers, network or environment.
#![no_std]

pub const ABI_VERSION: i32 = 1;

pub mod sys {
    #[link(wasm_import_module = "projector")]
    extern "C" {
        pub fn next() -> i32;
        pub fn event(path: *const u8, path_len: i32, out: *mut u8, cap: i32) -> i32;
        pub fn event_values(paths: *const u8, paths_len: i32, out: *mut u8, cap: i32) -> i32;
        pub fn sql_exec(sql: *const u8, sql_len: i32, args: *const u8, args_len: i32) -> i32;
        pub fn sql_query(sql: *const u8, sql_len: i32, args: *const u8, args_len: i32, out: *mut u8, cap: i32) -> i32;
        pub fn search_upsert(document: *const u8, len: i32) -> i32;
        pub fn search_delete(id: *const u8, len: i32) -> i32;
        pub fn log(level: i32, text: *const u8, len: i32);
        pub fn last_error(out: *mut u8, cap: i32) -> i32;
        pub fn fail(text: *const u8, len: i32);
    }
}

/// Exports `projector_abi_version`.
#[macro_export]
macro_rules! export_abi_version {
    () => {
        #[no_mangle]
        pub extern "C" fn projector_abi_version() -> i32 {
            $crate::ABI_VERSION
        }
    };
}

/// Exports `projector_apply_batch` over `$apply`, a function applying the current event (0 when
/// applied): one call into the plugin per transaction instead of one per event.
#[macro_export]
macro_rules! export_apply_each {
    ($apply:path) => {
        #[no_mangle]
        pub extern "C" fn projector_apply_batch() -> i32 {
            while $crate::next() {
                let code = $apply();
                if code != 0 {
                    return code;
                }
            }
            0
        }
    };
}

/// Makes the transaction's next event the current one (with a fresh fuel budget); false when
/// every event was taken.
pub fn next() -> bool {
    unsafe { sys::next() > 0 }
}

/// A value bound to `?N` or stored in a document field.
#[derive(Clone, Copy)]
pub enum Value<'a> {
    Null,
    Int(i64),
    Real(f64),
    Text(&'a str),
}

/// Encodes values into a caller's buffer; `fits()` is false once it overflowed.
pub struct Encoder<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl<'a> Encoder<'a> {
    pub fn new(buf: &'a mut [u8]) -> Self {
        Encoder { buf, len: 0 }
    }
    /// Appends raw bytes (for building text, such as JSON, in the caller's buffer).
    pub fn put(&mut self, bytes: &[u8]) {
        if self.len + bytes.len() <= self.buf.len() {
            self.buf[self.len..self.len + bytes.len()].copy_from_slice(bytes);
        }
        self.len += bytes.len();
    }
    pub fn push(&mut self, value: Value) -> &mut Self {
        match value {
            Value::Null => self.put(&[0]),
            Value::Int(x) => {
                self.put(&[1]);
                self.put(&x.to_le_bytes())
            }
            Value::Real(x) => {
                self.put(&[2]);
                self.put(&x.to_bits().to_le_bytes())
            }
            Value::Text(s) => {
                self.put(&[3]);
                self.put(&(s.len() as u32).to_le_bytes());
                self.put(s.as_bytes())
            }
        }
        self
    }
    pub fn len(&self) -> usize {
        self.len
    }
    pub fn fits(&self) -> bool {
        self.len <= self.buf.len()
    }
    pub fn bytes(&self) -> &[u8] {
        &self.buf[..self.len.min(self.buf.len())]
    }
}

/// The value at a JSON path of the current event (`$.stream`, `$.data.version`, …), read into
/// `buf`; `None` when absent, null, longer than `buf` or not UTF-8.
pub fn event<'a>(path: &str, buf: &'a mut [u8]) -> Option<&'a str> {
    let n = unsafe { sys::event(path.as_ptr(), path.len() as i32, buf.as_mut_ptr(), buf.len() as i32) };
    if n < 0 || n as usize > buf.len() {
        return None;
    }
    core::str::from_utf8(&buf[..n as usize]).ok()
}

/// The values at several JSON paths of the current event, in one call: `paths` separated by NUL
/// bytes (`"$.data.a\0$.data.b"`), read into `buf`; each is `Value::Text` (as [`event`] gives
/// it) or `Value::Null`. `None` when they do not fit in `buf`.
pub fn event_values<'a>(paths: &str, buf: &'a mut [u8]) -> Option<Values<'a>> {
    let n = unsafe { sys::event_values(paths.as_ptr(), paths.len() as i32, buf.as_mut_ptr(), buf.len() as i32) };
    if n < 0 || n as usize > buf.len() {
        return None;
    }
    Some(Values { bytes: &buf[..n as usize], at: 0 })
}

/// Why the last call failed, read into `buf`.
pub fn last_error(buf: &mut [u8]) -> &str {
    let n = unsafe { sys::last_error(buf.as_mut_ptr(), buf.len() as i32) };
    let n = (n.max(0) as usize).min(buf.len());
    core::str::from_utf8(&buf[..n]).unwrap_or("")
}

/// Runs one statement with `args` bound to ?1, ?2…; the rows changed. `scratch` holds the
/// encoded arguments.
pub fn exec(sql: &str, args: &[Value], scratch: &mut [u8]) -> Result<i32, ()> {
    let mut encoder = Encoder::new(scratch);
    for arg in args {
        encoder.push(*arg);
    }
    if !encoder.fits() {
        return Err(());
    }
    let bytes = encoder.bytes();
    let n = unsafe { sys::sql_exec(sql.as_ptr(), sql.len() as i32, bytes.as_ptr(), bytes.len() as i32) };
    if n < 0 {
        Err(())
    } else {
        Ok(n)
    }
}

/// Runs a query; its rows, decoded from `out`.
pub fn query<'a>(sql: &str, args: &[Value], scratch: &mut [u8], out: &'a mut [u8]) -> Result<Rows<'a>, ()> {
    let mut encoder = Encoder::new(scratch);
    for arg in args {
        encoder.push(*arg);
    }
    if !encoder.fits() {
        return Err(());
    }
    let bytes = encoder.bytes();
    let n = unsafe {
        sys::sql_query(sql.as_ptr(), sql.len() as i32, bytes.as_ptr(), bytes.len() as i32, out.as_mut_ptr(), out.len() as i32)
    };
    if n < 8 || n as usize > out.len() {
        return Err(());
    }
    let columns = u32::from_le_bytes([out[0], out[1], out[2], out[3]]) as usize;
    let rows = u32::from_le_bytes([out[4], out[5], out[6], out[7]]) as usize;
    Ok(Rows { values: Values { bytes: &out[8..n as usize], at: 0 }, columns, rows })
}

/// A query's result: `next_value` walks it value by value, row after row.
pub struct Rows<'a> {
    values: Values<'a>,
    pub columns: usize,
    pub rows: usize,
}

impl<'a> Rows<'a> {
    pub fn next_value(&mut self) -> Option<Value<'a>> {
        self.values.next_value()
    }
}

/// Encoded values, decoded one at a time.
pub struct Values<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Values<'a> {
    pub fn next_value(&mut self) -> Option<Value<'a>> {
        let tag = *self.bytes.get(self.at)?;
        self.at += 1;
        let take = |values: &mut Self, n: usize| -> Option<&'a [u8]> {
            let slice = values.bytes.get(values.at..values.at + n)?;
            values.at += n;
            Some(slice)
        };
        match tag {
            0 => Some(Value::Null),
            1 => take(self, 8).map(|b| Value::Int(i64::from_le_bytes(b.try_into().unwrap()))),
            2 => take(self, 8).map(|b| Value::Real(f64::from_bits(u64::from_le_bytes(b.try_into().unwrap())))),
            3 => {
                let n = u32::from_le_bytes(take(self, 4)?.try_into().unwrap()) as usize;
                core::str::from_utf8(take(self, n)?).ok().map(Value::Text)
            }
            _ => None,
        }
    }
}

/// Adds or replaces a document of the plugin's search index.
pub fn upsert(id: &str, fields: &[(&str, Value)], scratch: &mut [u8]) -> Result<(), ()> {
    let mut encoder = Encoder::new(scratch);
    encoder.push(Value::Text(id));
    for (name, value) in fields {
        encoder.push(Value::Text(name)).push(*value);
    }
    if !encoder.fits() {
        return Err(());
    }
    let bytes = encoder.bytes();
    if unsafe { sys::search_upsert(bytes.as_ptr(), bytes.len() as i32) } < 0 {
        Err(())
    } else {
        Ok(())
    }
}

pub fn delete(id: &str) -> Result<(), ()> {
    if unsafe { sys::search_delete(id.as_ptr(), id.len() as i32) } < 0 {
        Err(())
    } else {
        Ok(())
    }
}

pub fn log(level: i32, text: &str) {
    unsafe { sys::log(level, text.as_ptr(), text.len() as i32) }
}

/// The reason the current event failed; return non-zero from `projector_apply` after it.
pub fn fail(text: &str) {
    unsafe { sys::fail(text.as_ptr(), text.len() as i32) }
}
