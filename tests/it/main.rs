//! The one integration-test binary: the gateway on 127.0.0.1:0 over real sockets.

mod argon;
mod chaos;
mod cli;
mod compat;
mod conformance;
mod connections;
mod durability;
mod engine;
mod entra;
mod hostile;
mod live;
mod membership;
mod obs;
mod readme;
mod reconcile;
mod redmine;
mod reload;
mod replicas;
mod request_tracker;
mod secrets;
mod server;
mod settings;
