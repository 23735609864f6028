//! The tool's log: lines on stderr, as many as `-v`/`-q` or `RUST_LOG` ask for, as text or JSON.
//!
//! Stdout is kept for what scripts parse (`--json` outputs, the lines a server announces), so
//! every log line goes to stderr. A server's terminal must not stay silent while requests come
//! in, so `serve`, `record`, `replay` and `gateway` show the library's info lines (one per
//! request) by default; a one-shot command such as `void` shows warnings only, so that its answer
//! stays a single sentence.

use std::io::IsTerminal as _;

use clap::{ArgAction, ValueEnum};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::FmtSpan;

/// The environment variable that, when set, decides the filter instead of `-v`/`-q`.
const FILTER_VARIABLE: &str = "RUST_LOG";

/// How chatty a command is when neither `-v`, `-q` nor `RUST_LOG` says otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DefaultLevel {
    /// A server (`serve`, `record`, `replay`, `gateway`): one line per request.
    Server,
    /// A command that runs once and answers: warnings only.
    OneShot,
}

/// The format of log lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// One line a person reads: time, level, where, message, fields.
    Text,
    /// One JSON object per line (`timestamp`, `level`, `target`, `fields`, `span`).
    Json,
}

/// The global logging flags, accepted before or after the command name.
#[derive(Debug, Clone, clap::Args)]
pub struct Flags {
    /// More log lines on stderr: -v info, -vv debug, -vvv trace. RUST_LOG, when set, takes
    /// precedence (e.g. RUST_LOG=instamed_soap=debug).
    #[arg(short, long, action = ArgAction::Count, global = true, conflicts_with = "quiet")]
    verbose: u8,
    /// Fewer log lines: -q errors only, -qq none. By default `serve`, `record`, `replay` and
    /// `gateway` log one line per request and the other commands log warnings only.
    #[arg(short, long, action = ArgAction::Count, global = true)]
    quiet: u8,
    /// Format of the log lines on stderr.
    #[arg(
        long,
        value_enum,
        default_value_t = Format::Text,
        env = "INSTAMED_LOG_FORMAT",
        global = true
    )]
    log_format: Format,
}

/// Why the log could not be set up.
#[derive(Debug)]
pub struct InvalidFilter {
    value: String,
    why: Why,
}

#[derive(Debug)]
enum Why {
    /// `tracing-subscriber` does not parse this directive (1 is the first).
    Parse(usize, tracing_subscriber::filter::ParseError),
    /// It parses, but only because `tracing-subscriber` reads past what is written: an empty
    /// directive is skipped, a space makes a target of a level.
    Directive(String),
    /// Not even text.
    NotText,
}

impl std::fmt::Display for InvalidFilter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.why {
            Why::Parse(which, _) => write!(
                f,
                "{FILTER_VARIABLE}={:?} is not a valid filter: directive {which}",
                self.value
            ),
            Why::Directive(reason) => write!(
                f,
                "{FILTER_VARIABLE}={:?} is not a valid filter: {reason}",
                self.value
            ),
            Why::NotText => write!(
                f,
                "{FILTER_VARIABLE}={:?} is not UTF-8 text, so not a filter",
                self.value
            ),
        }
    }
}

impl std::error::Error for InvalidFilter {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.why {
            Why::Parse(_, source) => Some(source),
            Why::Directive(_) | Why::NotText => None,
        }
    }
}

/// The filter `value` says, read as a whole: every comma-separated part must be a directive
/// `tracing-subscriber` parses, and what it lets through although it is not what was meant is
/// refused too: an empty part (`,,`, a comma at an end), which it skips; spaces around a part
/// (`warn, info` filters a target named " info"); a target with characters no target has
/// (`inf o`, `x;y`: a filter that quietly matches nothing). The first bad part is named.
fn parse_whole(value: &str) -> Result<EnvFilter, Why> {
    for (index, directive) in value.split(',').enumerate() {
        let which = index + 1;
        if directive.trim().is_empty() {
            return Err(Why::Directive(format!(
                "directive {which} is empty (two commas, or one at an end)"
            )));
        }
        if directive.trim() != directive {
            return Err(Why::Directive(format!(
                "directive {which} ({directive:?}) has spaces around it"
            )));
        }
        let target = directive.split(['[', '=']).next().unwrap_or_default();
        let in_a_name = |c: char| c.is_alphanumeric() || matches!(c, '_' | ':' | '-' | '.');
        if let Some(bad) = target.chars().find(|c| !in_a_name(*c)) {
            return Err(Why::Directive(format!(
                "directive {which} ({directive:?}) names a target with {bad:?} in it"
            )));
        }
        EnvFilter::builder()
            .parse(directive)
            .map_err(|error| Why::Parse(which, error))?;
    }
    EnvFilter::builder()
        .parse(value)
        .map_err(|error| Why::Parse(1, error))
}

impl Flags {
    /// The filter the flags ask for when `RUST_LOG` is not set.
    fn directives(&self, default: DefaultLevel) -> &'static str {
        match (self.quiet, self.verbose, default) {
            (0, 0, DefaultLevel::Server) => "warn,instamed_soap=info",
            (0, 0, DefaultLevel::OneShot) => "warn",
            (0, 1, _) => "info",
            (0, 2, _) => "debug",
            (0, _, _) => "trace",
            (1, _, _) => "error",
            _ => "off",
        }
    }

    /// The filter: `RUST_LOG` when it is set and not empty, the flags otherwise.
    fn filter(&self, default: DefaultLevel) -> Result<EnvFilter, InvalidFilter> {
        let from_environment = std::env::var_os(FILTER_VARIABLE)
            .filter(|value| !value.to_string_lossy().trim().is_empty());
        let Some(value) = from_environment else {
            return Ok(EnvFilter::new(self.directives(default)));
        };
        // Strict, so that a mistyped RUST_LOG is reported rather than silently ignored.
        match value.into_string() {
            Ok(value) => parse_whole(&value).map_err(|why| InvalidFilter { value, why }),
            Err(value) => Err(InvalidFilter {
                value: value.to_string_lossy().into_owned(),
                why: Why::NotText,
            }),
        }
    }

    /// Installs the process's subscriber: stderr, the filter, the format.
    pub fn init(&self, default: DefaultLevel) -> Result<(), InvalidFilter> {
        let filter = self.filter(default)?;
        // A call's span closing is its one summary line (payment, protocol, verdict, time),
        // which is what `-v` is for on a one-shot command. A server writes its own line per
        // request, which a call's closing line would double.
        let span_events = match default {
            DefaultLevel::OneShot => FmtSpan::CLOSE,
            DefaultLevel::Server => FmtSpan::NONE,
        };
        let builder = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_span_events(span_events)
            .with_writer(std::io::stderr);
        // A second subscriber can only come from a test harness in the same process; the first
        // one keeps logging, so there is nothing to report.
        let _ = match self.log_format {
            Format::Text => builder.with_ansi(colours_wanted()).try_init(),
            Format::Json => builder
                .json()
                .with_current_span(true)
                .with_span_list(false)
                .try_init(),
        };
        Ok(())
    }
}

/// Colours only for a person at a terminal, and never when `NO_COLOR` is set.
fn colours_wanted() -> bool {
    std::io::stderr().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(verbose: u8, quiet: u8) -> Flags {
        Flags {
            verbose,
            quiet,
            log_format: Format::Text,
        }
    }

    #[test]
    fn servers_log_requests_by_default_and_one_shot_commands_warnings_only() {
        assert_eq!(
            flags(0, 0).directives(DefaultLevel::Server),
            "warn,instamed_soap=info"
        );
        assert_eq!(flags(0, 0).directives(DefaultLevel::OneShot), "warn");
    }

    #[test]
    fn each_v_and_q_moves_one_level() {
        for default in [DefaultLevel::Server, DefaultLevel::OneShot] {
            assert_eq!(flags(1, 0).directives(default), "info");
            assert_eq!(flags(2, 0).directives(default), "debug");
            assert_eq!(flags(3, 0).directives(default), "trace");
            assert_eq!(flags(7, 0).directives(default), "trace");
            assert_eq!(flags(0, 1).directives(default), "error");
            assert_eq!(flags(0, 2).directives(default), "off");
        }
    }
}
