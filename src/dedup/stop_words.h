// Stop words of English, French, German and Spanish, folded as dedup folds text (lower case,
// no diacritics): they carry no news and tell the language. Pure, thread-safe.
#pragma once

#include <cstdint>
#include <string_view>

#include "feedmerge/dedup/features.h"

namespace feedmerge::dedup {

// Language::unknown: a stop word of any of the four languages.
bool is_stop_word_of(std::string_view folded_word, Language language);
// The languages `folded_word` is a stop word of, as bits 1 << Language (0: none): one lookup
// for all four.
unsigned stop_word_languages(std::string_view folded_word);
// The same, given XXH3_64bits(folded_word) (the tokenizer has it already).
unsigned stop_word_languages(std::string_view folded_word, std::uint64_t xxh3);

}  // namespace feedmerge::dedup
