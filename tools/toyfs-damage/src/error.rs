// SPDX-License-Identifier: GPL-2.0
//! The one error type of the tool: a message for the user.

use std::fmt;

/// What went wrong, as a sentence.
#[derive(Debug)]
pub struct ToolError(pub String);

/// The tool's results.
pub type Result<T> = std::result::Result<T, ToolError>;

impl fmt::Display for ToolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ToolError {}

impl From<toyfs_format::FsError> for ToolError {
    fn from(error: toyfs_format::FsError) -> Self {
        Self(error.to_string())
    }
}

impl From<std::io::Error> for ToolError {
    fn from(error: std::io::Error) -> Self {
        Self(error.to_string())
    }
}
