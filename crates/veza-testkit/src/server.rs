//! placeholder until the server exists
