//! Test support: a scripted HTTP/1.1 server on 127.0.0.1 that records what it receives.
