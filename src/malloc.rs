//! Tuning of glibc's allocator for a small resident set (measured in BENCHMARKS.md):
//! - [`one_arena`]: glibc gives each thread that allocates an arena of its own (up to eight per
//!   CPU), and every arena keeps what was freed in it. The service's allocations are small and
//!   short (its peak heap is a few MB), so one arena for the process is the smaller resident set,
//!   at no measurable cost in speed.
//! - [`release_free_memory`]: hands memory freed at the top of the heap and in whole free pages
//!   back to the kernel; a reading worker calls it after each message, so that what one message
//!   needed is not held while it reads the next.
//!
//! Both do nothing where the C library is not glibc.

#[cfg(all(target_os = "linux", target_env = "gnu"))]
mod glibc {
    use std::ffi::c_int;

    unsafe extern "C" {
        fn mallopt(param: c_int, value: c_int) -> c_int;
        fn malloc_trim(pad: usize) -> c_int;
    }

    /// `M_ARENA_MAX` of glibc's malloc.h.
    const M_ARENA_MAX: c_int = -8;

    pub fn one_arena() {
        // SAFETY: mallopt only changes a tuning parameter of glibc's allocator; it reads no
        // memory of ours. Called at start, before any other thread exists.
        unsafe {
            mallopt(M_ARENA_MAX, 1);
        }
    }

    pub fn release_free_memory() {
        // SAFETY: malloc_trim only returns free memory of the allocator to the kernel.
        unsafe {
            malloc_trim(0);
        }
    }
}

/// See the module doc. Call it first thing in `main`.
pub fn one_arena() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    glibc::one_arena();
}

/// See the module doc.
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    glibc::release_free_memory();
}
