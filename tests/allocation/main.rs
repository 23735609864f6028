//! The tests that measure the heap: a binary of their own, because it counts every allocation
//! through a global allocator ([`alloc`]).

mod alloc;
mod hostile_limits;
mod hostile_xml;
