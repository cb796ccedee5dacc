//! The optional TOML config file of `quorum node` (`--config FILE` or `QUORUM_CONFIG`).
//!
//! The file is flat: its keys are the long flag names with `_` or `-` (`data_dir = "..."`,
//! `bulk_bytes_max = 1048576`, `initial_cluster = "1=127.0.0.1:8001,..."` or a list of
//! `"id=addr"` strings). Its values become the flags' *defaults* before clap parses, which
//! gives the documented precedence for free: flag > environment > file > built-in default,
//! and `--help` shows the effective defaults.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::CommandFactory;

use crate::Cli;

/// Keys that are not settable from the file (they control how the file itself is read).
const NOT_FROM_FILE: &[&str] = &["config", "print_config", "help", "version"];

/// Builds the clap command with the config file's values (if any) installed as defaults.
pub fn command_with_file_defaults(args: &[OsString]) -> anyhow::Result<clap::Command> {
    let command = Cli::command();
    let Some(path) = config_path(&command, args) else {
        return Ok(command);
    };
    let entries = read_entries(&path)?;
    apply_defaults(command, &path, entries)
}

/// Finds `--config` of the `node` subcommand (flag or `QUORUM_CONFIG`) with a lenient parse,
/// so that a missing required flag does not hide the file that might supply it.
fn config_path(command: &clap::Command, args: &[OsString]) -> Option<PathBuf> {
    let matches = command
        .clone()
        .ignore_errors(true)
        .try_get_matches_from(args)
        .ok()?;
    let ("node", node) = matches.subcommand()? else {
        return None;
    };
    node.try_get_one::<PathBuf>("config")
        .ok()
        .flatten()
        .cloned()
}

/// Reads the file into `(arg id, value as a command-line string)` pairs.
fn read_entries(path: &Path) -> anyhow::Result<Vec<(String, String)>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read config file {}", path.display()))?;
    let table: toml::Table = toml::from_str(&text)
        .with_context(|| format!("config file {} is not valid TOML", path.display()))?;
    let mut entries = Vec::with_capacity(table.len());
    for (key, value) in table {
        let id = key.replace('-', "_");
        let text = match value {
            toml::Value::String(s) => s,
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Boolean(b) => b.to_string(),
            toml::Value::Array(items) => {
                let mut parts = Vec::with_capacity(items.len());
                for item in items {
                    match item {
                        toml::Value::String(s) => parts.push(s),
                        other => bail!(
                            "config file {}: `{key}` must be a list of strings, found {}",
                            path.display(),
                            other.type_str()
                        ),
                    }
                }
                parts.join(",")
            }
            other => bail!(
                "config file {}: `{key}` has unsupported type {} (use a string, integer, \
                 boolean or list of strings)",
                path.display(),
                other.type_str()
            ),
        };
        entries.push((id, text));
    }
    Ok(entries)
}

/// Installs each entry as the default of the matching `node` (or global) argument.
fn apply_defaults(
    mut command: clap::Command,
    path: &Path,
    entries: Vec<(String, String)>,
) -> anyhow::Result<clap::Command> {
    let global_ids: Vec<String> = command
        .get_arguments()
        .map(|a| a.get_id().to_string())
        .collect();
    let node_ids: Vec<String> = command
        .find_subcommand("node")
        .map(|node| {
            node.get_arguments()
                .map(|a| a.get_id().to_string())
                .collect()
        })
        .unwrap_or_default();
    for (id, value) in entries {
        if NOT_FROM_FILE.contains(&id.as_str()) {
            bail!(
                "config file {}: `{id}` cannot be set in a config file",
                path.display()
            );
        }
        if global_ids.contains(&id) {
            command = command.mut_arg(id.as_str(), |arg| arg.default_value(value));
        } else if node_ids.contains(&id) {
            command = command.mut_subcommand("node", |node| {
                node.mut_arg(id.as_str(), |arg| arg.default_value(value))
            });
        } else {
            let mut known: Vec<&str> = node_ids
                .iter()
                .chain(global_ids.iter())
                .map(String::as_str)
                .filter(|k| !NOT_FROM_FILE.contains(k))
                .collect();
            known.sort_unstable();
            bail!(
                "config file {}: unknown key `{id}` (known keys: {})",
                path.display(),
                known.join(", ")
            );
        }
    }
    Ok(command)
}
