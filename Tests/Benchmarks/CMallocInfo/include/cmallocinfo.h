#include <stddef.h>

/// Bytes glibc's malloc has handed out and not had back, over all arenas and mmapped blocks
/// (mallinfo2's uordblks + hblkhd); 0 where mallinfo2 is missing.
size_t bench_heap_in_use(void);
