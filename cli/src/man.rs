//! `instamed-soap man`: the man pages, one per command, each with its exit codes.
//!
//! The pages come from the same clap definition as `--help`, and the EXIT STATUS section from
//! the same table (`exit::TABLE`), so neither can say something `--help` does not.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Command;
use clap_mangen::Man;

use crate::exit;

/// The section every page is in: user commands.
const SECTION: &str = "1";

/// Arguments of `man`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The command whose page to print, e.g. `void` or `contract verify` (default: the top
    /// page, which lists the others).
    command: Vec<String>,
    /// Write every page (the top one and one per command, e.g. instamed-soap-void.1) into
    /// this directory, instead of printing one.
    #[arg(long, value_name = "DIR", conflicts_with = "command")]
    dir: Option<PathBuf>,
}

/// Runs `man` for the tool's whole command line, `root`.
pub fn run(args: &Args, root: Command) -> ExitCode {
    // `help` is clap's, with no page of its own: a page listing it would name one that
    // cannot be generated.
    let mut root = root.disable_help_subcommand(true);
    root.build();
    if let Some(dir) = &args.dir {
        // As `install -D` would: the usual target, ~/.local/share/man/man1, is often missing.
        let written =
            std::fs::create_dir_all(dir).and_then(|()| write_all(&root, &mut Vec::new(), dir));
        return match written {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!(
                    "error: cannot write the man pages to {}: {error}",
                    dir.display()
                );
                ExitCode::from(exit::FAILED)
            }
        };
    }
    let mut command = &root;
    for name in &args.command {
        match command.find_subcommand(name) {
            Some(sub) => command = sub,
            None => {
                let known: Vec<&str> = command.get_subcommands().map(Command::get_name).collect();
                eprintln!(
                    "error: no command `{}`; the pages are for: {}",
                    args.command.join(" "),
                    known.join(", ")
                );
                return ExitCode::from(exit::INVALID);
            }
        }
    }
    let mut stdout = std::io::stdout().lock();
    match render(command, &args.command.join(" "), &mut stdout).and_then(|()| stdout.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: cannot write the man page: {error}");
            ExitCode::from(exit::FAILED)
        }
    }
}

/// Writes the page of `command` and of every command under it; `path` holds the names typed
/// to reach it (empty for the top).
fn write_all(command: &Command, path: &mut Vec<String>, dir: &Path) -> std::io::Result<()> {
    let file = dir.join(format!(
        "{}.{SECTION}",
        command.get_display_name().unwrap_or(command.get_name())
    ));
    let mut out = std::io::BufWriter::new(std::fs::File::create(&file)?);
    render(command, &path.join(" "), &mut out)?;
    out.flush()?;
    for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
        path.push(sub.get_name().to_owned());
        write_all(sub, path, dir)?;
        path.pop();
    }
    Ok(())
}

/// One page: clap_mangen's sections, the notes of `--help` without its exit codes, then EXIT
/// STATUS from the table. `typed` is the command as typed after `instamed-soap` (empty for the
/// top page, which lists every code).
fn render(command: &Command, typed: &str, out: &mut dyn Write) -> std::io::Result<()> {
    let notes = command
        .get_after_help()
        .map(|text| before_exit_codes(&text.to_string()).to_owned())
        .filter(|notes| !notes.is_empty());
    let mut command = command.clone();
    if let Some(notes) = &notes {
        command = command.after_help(notes.clone());
    }
    let page = Man::new(command.clone()).section(SECTION);
    page.render_title(out)?;
    page.render_name_section(out)?;
    page.render_synopsis_section(out)?;
    page.render_description_section(out)?;
    if command.get_arguments().any(|arg| !arg.is_hide_set()) {
        page.render_options_section(out)?;
    }
    if command.get_subcommands().any(|sub| !sub.is_hide_set()) {
        page.render_subcommands_section(out)?;
    }
    if notes.is_some() {
        page.render_extra_section(out)?;
    }
    if !typed.is_empty() {
        outcomes(typed, out)?;
    }
    exit_status(if typed.is_empty() { None } else { Some(typed) }, out)?;
    if command.get_version().is_some() {
        page.render_version_section(out)?;
    }
    Ok(())
}

/// The text of an `after_help` before its outcomes and exit codes (all of it when it has
/// neither): the page gives those sections from the tables.
fn before_exit_codes(text: &str) -> &str {
    let end = [exit::OUTCOMES_HEADING, exit::HEADING]
        .iter()
        .filter_map(|heading| {
            if text.starts_with(heading) {
                Some(0)
            } else {
                text.find(&format!("\n{heading}"))
            }
        })
        .min()
        .unwrap_or(text.len());
    text[..end].trim_end()
}

/// The OUTCOMES section, in roff, for a command that has outcomes: the same lines as
/// `--help`, from the one outcome table.
fn outcomes(command: &str, out: &mut dyn Write) -> std::io::Result<()> {
    let text = exit::outcomes(command);
    let Some(rows) = text.strip_prefix(exit::OUTCOMES_HEADING) else {
        return Ok(());
    };
    writeln!(out, ".SH OUTCOMES")?;
    writeln!(
        out,
        "The \\fBoutcome\\fR of \\-\\-json, a ledger entry's and a batch row's verdict, with \
         the exit code it gives:"
    )?;
    // Each row starts "  name (code): meaning"; its continuation lines are indented deeper.
    let mut entries: Vec<String> = Vec::new();
    for line in rows.lines().filter(|line| !line.trim().is_empty()) {
        if line.starts_with("  ") && !line.starts_with("   ") {
            entries.push(line.trim().to_owned());
        } else if let Some(last) = entries.last_mut() {
            last.push(' ');
            last.push_str(line.trim());
        }
    }
    for entry in entries {
        let (name, meaning) = entry.split_once(": ").unwrap_or((&entry, ""));
        writeln!(out, ".TP")?;
        writeln!(out, "\\fB{}\\fR", roff(name))?;
        writeln!(out, "{}", roff(meaning))?;
    }
    Ok(())
}

/// The EXIT STATUS section, in roff: a command's own codes, or every code and who gives it.
fn exit_status(command: Option<&str>, out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(out, ".SH \"EXIT STATUS\"")?;
    let statuses: Vec<&exit::Status> = match command {
        Some(command) => exit::of_command(command).collect(),
        None => exit::TABLE.iter().collect(),
    };
    for status in statuses {
        writeln!(out, ".TP")?;
        writeln!(out, "\\fB{}\\fR {}", status.code, roff(status.name))?;
        writeln!(out, "{}", roff(status.meaning))?;
        if command.is_none() {
            writeln!(out, "({})", roff(&status.given_by.to_string()))?;
        }
    }
    Ok(())
}

/// `text` as roff shows it literally: backslashes and hyphens escaped, and a line that would
/// start with a control character made text.
fn roff(text: &str) -> String {
    let escaped = text.replace('\\', "\\e").replace('-', "\\-");
    if escaped.starts_with(['.', '\'']) {
        format!("\\&{escaped}")
    } else {
        escaped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exit_codes_are_cut_from_the_notes() {
        assert_eq!(before_exit_codes("Exit codes:\n  0  x"), "");
        assert_eq!(before_exit_codes("a\nb\n\nExit codes:\n  0  x"), "a\nb");
        assert_eq!(before_exit_codes("a"), "a");
        let outcomes_first = format!(
            "a\n\n{}\n  x\n\nExit codes:\n  0  x",
            exit::OUTCOMES_HEADING
        );
        assert_eq!(before_exit_codes(&outcomes_first), "a");
    }

    #[test]
    fn roff_text_is_literal() {
        assert_eq!(roff("--port 0"), "\\-\\-port 0");
        assert_eq!(roff(".x"), "\\&.x");
    }
}
