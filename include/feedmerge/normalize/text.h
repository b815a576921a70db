// Text normalisation: entity decoding, HTML to plain text, white space. Pure; thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace feedmerge::normalize {

// The UTF-8 expansion of an HTML5 named character reference without its '&' and ';'
// ("eacute" -> "é"); "" when the name is unknown. Case-sensitive, as HTML is.
std::string_view html_entity(std::string_view name);

// Decodes numeric (&#233; &#xE9;) and named HTML references; unknown references stay as they
// are; references to NUL, surrogates or beyond U+10FFFF become U+FFFD; the windows-1252
// numeric quirk (&#150; -> en dash) is applied as browsers do.
std::string decode_html_entities(std::string_view text);

// Collapses every run of Unicode white space (including U+00A0) to one ASCII space and trims.
std::string collapse_whitespace(std::string_view text);

// HTML (or text that may contain markup and references) to plain text: tags and comments
// removed (block tags and <br> become a space), references decoded, white space collapsed.
std::string html_to_text(std::string_view html);

// html_to_text(html) cut to at most `max_bytes` bytes, not splitting a UTF-8 sequence; reads
// only as much of `html` as that text needs (for readers of the start of long content).
std::string html_to_text_prefix(std::string_view html, std::size_t max_bytes);

// Escapes &, <, >, " for use as HTML text or attribute value.
std::string escape_html(std::string_view text);

// True when `text` seems to hold HTML that was escaped once more than it should have been
// ("&lt;p&gt;Hello&lt;/p&gt;" with no real tag): RSS descriptions do this.
bool looks_double_escaped(std::string_view text);

// Heuristic used for RSS description and similar fields whose type is not declared: true when
// `text` contains something that looks like an HTML tag or a character reference.
bool looks_like_html(std::string_view text);

// Optimal string alignment distance, for "did you mean": a typo's swapped letters count once
// ("chekc" is one from "check").
std::size_t edit_distance(std::string_view a, std::string_view b);

}  // namespace feedmerge::normalize
