// What the dedup stage reads from one item: normalised terms, named entities and numbers, and
// a MinHash sketch of its word shingles. Text goes through ICU: NFKC with case folding, word
// boundaries, diacritics removed, stop words of English, French, German and Spanish dropped.
// Pure; thread-safe (ICU's normalisers are shared, break iterators are per call).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace feedmerge::dedup {

enum class Language : std::uint8_t { unknown, en, fr, de, es };
std::string_view to_string(Language language);

// Slots of the one-permutation MinHash sketch; empty slots hold kEmptySlot. Each slot keeps
// the top 16 bits of its minimum (b-bit minwise hashing): two different minima look equal
// once in 65,536, and a window item's sketch costs half as much.
inline constexpr std::size_t kSketchSize = 64;
inline constexpr std::uint16_t kEmptySlot = 0xffffu;

struct Term {
  std::uint32_t id = 0;  // hash of the normalised form
  float weight = 0;      // term frequency, titles counted twice

  bool operator==(const Term&) const = default;
};

struct Features {
  Language language = Language::unknown;
  // Content words: folded, without diacritics and stop words, cut to their first six letters
  // so that plural forms and most cognates across the four languages meet ("securite",
  // "security" -> "securi"). Sorted by id, unique.
  std::vector<Term> terms;
  // Names, organisations, acronyms, quoted names and numbers (folded): the words that survive
  // translation. Sorted, unique.
  std::vector<std::uint32_t> entities;
  // Entities in text order, for telling translations (which keep the order) from reports.
  std::vector<std::uint32_t> entity_sequence;
  // The numbers among `entities` (the same ids), sorted, unique.
  std::vector<std::uint32_t> numbers;
  // A Title Case headline's capitalised words that its own text does not show to be names
  // ("Jesse", "Jackson" in "In Africa, Jesse Jackson Was Esteemed..." over a body that says
  // "He"): (id as in `entities`, id as in `terms`), sorted, unique. The story index takes those
  // that other items mostly write as names for names too.
  std::vector<std::pair<std::uint32_t, std::uint32_t>> title_capitals;
  // Word 3-shingles (stop words kept) as a one-permutation MinHash sketch: copies match.
  std::array<std::uint16_t, kSketchSize> sketch{};
  int shingles = 0;  // how many shingles went into the sketch

  bool operator==(const Features&) const = default;
};

// Text limits: a feed's summary or the start of the content carries the news; reading
// further costs time and mostly adds boilerplate.
inline constexpr std::size_t kMaxBodyBytes = 1500;

// `title` and `body` are plain text (the caller turns HTML into text).
Features extract_features(std::string_view title, std::string_view body);
// The same with ICU's word breaks for all text (ASCII text normally takes a faster path that
// follows the same rules): the reference for tests.
Features extract_features_icu_only(std::string_view title, std::string_view body);

// The entities of extract_features, readable (for `why`), sorted and unique.
std::vector<std::string> entity_names(std::string_view title, std::string_view body);

// A Title Case headline's capital that is not a name by its own text (Features::title_capitals),
// readable (for `why`): the folded word and its ids. Sorted by word, unique.
struct TitleCapital {
  std::string word;
  std::uint32_t entity = 0;
  std::uint32_t term = 0;
};
std::vector<TitleCapital> title_capital_words(std::string_view title, std::string_view body);

// The folded, diacritic-free form of `text` as a list of words (for tests and `why`).
std::vector<std::string> normalized_words(std::string_view text);

bool is_stop_word(std::string_view folded_word);

}  // namespace feedmerge::dedup
