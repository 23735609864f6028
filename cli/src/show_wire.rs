//! `--show-wire`: each request and its answer on standard error, as `curl -v` shows them,
//! once the client has taken its secrets and every card number out of them.

use instamed_soap::ClientBuilder;
use instamed_soap::observe::WireExchange;

/// The flag, for the commands that send payments.
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct ShowWire {
    /// Print each request and its answer (start line, headers, body) to standard error, as
    /// curl -v does: `> ` before what was sent, `< ` before what came back. The password, the
    /// API secret, the Authorization value and every card number are taken out first, in
    /// every encoding.
    #[arg(long)]
    show_wire: bool,
}

impl ShowWire {
    /// `builder` with an observer that prints each exchange, when asked for.
    pub fn apply(self, builder: ClientBuilder) -> ClientBuilder {
        if !self.show_wire {
            return builder;
        }
        // One call a exchange: standard error is locked for the whole of it, so that the
        // exchanges of a concurrent batch never mix their lines.
        builder.wire_observer(|exchange: &WireExchange| eprint!("{exchange}"))
    }
}
