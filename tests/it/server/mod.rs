//! The gateway server over real loopback sockets, with a fake engine that echoes each call.

mod limits;
mod routes;
mod shutdown;
mod starve;
mod support;
mod tls;
