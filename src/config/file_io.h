// The disk work of the config commands: reading the file, writing a backup, and replacing the
// file so that a crash leaves either the old or the new text. Blocking; for the CLI.
#pragma once

#include <string>
#include <string_view>

#include "feedmerge/error.h"

namespace feedmerge::config::detail {

// The whole file; ErrorKind::io with the system's reason when it cannot be read.
Result<std::string> read_file(const std::string& path);

// Writes `bytes` to PATH.bak, or PATH.bak.1, PATH.bak.2, ... when that exists (never
// overwriting one), with the mode of PATH; returns the name it used.
Result<std::string> write_backup(const std::string& path, std::string_view bytes);

// Replaces the file `path` (following a symbolic link to the file it names) by `bytes`: a
// temporary file in the same folder, fsync, rename over the old one, fsync of the folder.
// The new file keeps the old one's mode, and its owner when the process may set it.
Result<void> replace_file(const std::string& path, std::string_view bytes);

}  // namespace feedmerge::config::detail
