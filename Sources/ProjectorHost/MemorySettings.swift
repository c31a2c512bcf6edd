import Synchronization

#if canImport(Glibc)
    import Glibc

    @_silgen_name("mallopt") private func mallopt(_ parameter: Int32, _ value: Int32) -> Int32
    @_silgen_name("malloc_trim") private func malloc_trim(_ pad: Int) -> Int32
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
            releasing.store(true, ordering: .relaxed)
        #endif
    }

    /// Hands the heap's free pages back to the kernel, at most once a second and only where
    /// ``apply()`` ran: a commit calls it, since a catch-up's large transactions free far more
    /// than glibc returns by itself.
    package static func releaseFreePages() {
        #if canImport(Glibc)
            guard releasing.load(ordering: .relaxed) else { return }
            let last = lastRelease.load(ordering: .relaxed)
            let now = Int64((ContinuousClock.now - start) / .milliseconds(1))
            guard now - last >= 1000, lastRelease.compareExchange(expected: last, desired: now, ordering: .relaxed).exchanged
            else { return }
            _ = malloc_trim(0)
        #endif
    }

    /// Whether ``apply()`` ran, and when (milliseconds after `start`) memory was last released.
    private static let releasing = Atomic<Bool>(false)
    private static let lastRelease = Atomic<Int64>(0)
    private static let start = ContinuousClock.now
}
