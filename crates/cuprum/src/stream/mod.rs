//! Moving bytes between file descriptors.
