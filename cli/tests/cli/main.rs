//! The command-line tool's tests, one binary: each runs the built `instamed-soap` as a user
//! would, against the simulator or hand-written servers on loopback.

mod batch;
mod bench_gateway;
mod browser;
mod cli;
mod cli_refund;
mod cli_secrets;
mod completions;
mod connection_flags;
mod contract_verify;
mod erp_zeep;
mod exit_codes;
mod gateway;
mod gateway_kill;
mod import_har;
mod input_files;
mod isolated;
mod ledger;
mod logs;
mod network;
mod ops_browser;
mod outcomes;
mod output_contract;
mod profiles;
mod readme;
mod recording;
mod replay_journal;
mod sensitive;
mod serve;
mod setup_mistakes;
mod sso;
mod wsdl;
