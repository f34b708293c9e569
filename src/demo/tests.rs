//! End-to-end tests of the demo API over loopback sockets.
