#if canImport(Glibc)
    import Glibc

    @_silgen_name("mallopt") private func mallopt(_ parameter: Int32, _ value: Int32) -> Int32
#endif

/// glibc malloc settings for a long-running host; the `projector` tool applies them at start,
/// an application embedding the host may.
package enum MemorySettings {
    /// A fixed mmap threshold (128 KB): glibc otherwise raises it after each large block is
    /// freed, and a catch-up's batch-sized arrays then stay in the heap; and two arenas, not
    /// eight per core, each keeping the freed memory of the threads that used it.
    public static func apply() {
        #if canImport(Glibc)
            _ = mallopt(-3, 128 * 1024)  // M_MMAP_THRESHOLD
            _ = mallopt(-8, 2)  // M_ARENA_MAX
        #endif
    }
}
