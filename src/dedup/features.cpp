#include "feedmerge/dedup/features.h"

#include <unicode/brkiter.h>
#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>
#include <unicode/utf8.h>
// Inlined: words are a few bytes, where a call costs as much as the hash.
#define XXH_INLINE_ALL
#include <xxhash.h>

#include <algorithm>
#include <array>
#include <memory>
#include <utility>

#include "dedup/stop_words.h"

namespace feedmerge::dedup {
namespace {

// Terms are cut to this many letters: a light stemmer that also joins cognates.
constexpr std::size_t kTermLetters = 6;
constexpr float kTitleWeight = 2.0f;

std::uint32_t hash32(std::string_view text) {
  return static_cast<std::uint32_t>(XXH3_64bits(text.data(), text.size()));
}

std::uint64_t mix64(std::uint64_t x) {
  // splitmix64's finaliser: spreads shingle hashes over the sketch's slots.
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

// Cuts `text` to at most `limit` bytes without splitting a UTF-8 sequence.
std::string_view cut_utf8(std::string_view text, std::size_t limit) {
  if (text.size() <= limit) return text;
  std::size_t end = limit;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80)
    --end;
  return text.substr(0, end);
}

icu::BreakIterator& word_breaker() {
  // One per thread: creating one loads rules, cloning is cheap, using one is not thread-safe.
  thread_local std::unique_ptr<icu::BreakIterator> breaker = [] {
    UErrorCode status = U_ZERO_ERROR;
    std::unique_ptr<icu::BreakIterator> created(
        icu::BreakIterator::createWordInstance(icu::Locale::getRoot(), status));
    return U_SUCCESS(status) ? std::move(created) : nullptr;
  }();
  return *breaker;
}

bool is_ascii(std::string_view text) {
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

// NFKC + case folding, then diacritics removed (NFD, non-spacing marks dropped).
std::string fold(const icu::UnicodeString& word) {
  UErrorCode status = U_ZERO_ERROR;
  static const icu::Normalizer2* casefold = icu::Normalizer2::getNFKCCasefoldInstance(status);
  static const icu::Normalizer2* decompose = icu::Normalizer2::getNFDInstance(status);
  status = U_ZERO_ERROR;
  icu::UnicodeString folded = casefold->normalize(word, status);
  icu::UnicodeString decomposed = decompose->normalize(folded, status);
  if (U_FAILURE(status)) return {};
  icu::UnicodeString bare;
  for (int32_t i = 0; i < decomposed.length();) {
    const UChar32 c = decomposed.char32At(i);
    i += U16_LENGTH(c);
    if (u_charType(c) != U_NON_SPACING_MARK) bare.append(c);
  }
  std::string out;
  bare.toUTF8String(out);
  return out;
}

// French and Italian elisions (l', d', qu') and the English possessive: "l'entreprise" and
// "Nvidia's" are words of their own for ICU.
std::string_view strip_clitics(std::string_view word, std::size_t& prefix_bytes) {
  prefix_bytes = 0;
  // Byte by byte (at < word.size()): this runs for every word.
  auto apostrophe = [&](std::size_t at, std::size_t& length) {
    if (word[at] == '\'') {
      length = 1;
      return true;
    }
    if (word[at] == '\xE2' && word.size() - at >= 3 && word[at + 1] == '\x80' &&
        word[at + 2] == '\x99') {  // U+2019
      length = 3;
      return true;
    }
    return false;
  };
  for (std::size_t at = 1; at <= 2 && at < word.size(); ++at) {
    std::size_t length = 0;
    if (apostrophe(at, length) && at + length < word.size()) {
      prefix_bytes = at + length;
      word.remove_prefix(prefix_bytes);
      break;
    }
  }
  for (std::size_t tail : {std::size_t{2}, std::size_t{4}}) {
    if (word.size() > tail + 1) {
      std::size_t length = 0;
      const std::size_t at = word.size() - tail;
      if (apostrophe(at, length) && at + length + 1 == word.size() &&
          (word.back() == 's' || word.back() == 'S')) {
        word.remove_suffix(tail);
        break;
      }
    }
  }
  return word;
}

// "27,7" and "27.7" are one number; "1,000", "1.000" and "1000" another. Appends to `out`.
void append_number(std::string_view number, std::string& out) {
  const std::size_t first = number.find_first_of(".,");
  if (first == std::string_view::npos) {
    out.append(number);
    return;
  }
  // Groups after the first: thousands when each has three digits.
  bool thousands = true;
  std::size_t second_end = number.size();
  for (std::size_t start = first + 1;;) {
    std::size_t end = number.find_first_of(".,", start);
    if (end == std::string_view::npos) end = number.size();
    if (start == first + 1) second_end = end;
    if (end - start != 3) thousands = false;
    if (end == number.size()) break;
    start = end + 1;
  }
  out.append(number.substr(0, first));
  if (thousands) {
    for (char c : number.substr(first))
      if (c != '.' && c != ',') out.push_back(c);
  } else {
    out.push_back('.');
    out.append(number.substr(first + 1, second_end - first - 1));
  }
}

std::string_view first_letters_view(std::string_view word, std::size_t letters) {
  std::size_t at = 0;
  for (std::size_t n = 0; n < letters && at < word.size(); ++n) {
    UChar32 c = 0;
    int32_t i = static_cast<int32_t>(at);
    U8_NEXT(reinterpret_cast<const uint8_t*>(word.data()), i, static_cast<int32_t>(word.size()), c);
    at = static_cast<std::size_t>(i);
  }
  return word.substr(0, at);
}

struct Token {
  std::uint32_t begin = 0;  // the folded word: Words::text[begin, begin + size)
  std::uint32_t size = 0;
  std::uint64_t hash = 0;  // XXH3 of the folded word: entity ids, shingles, lookups
  unsigned stop = 0;       // stop_word_languages(folded)
  bool number = false;
  bool capitalised = false;    // first letter upper case
  bool inner_capital = false;  // "SolarWinds", "iPhone", "AWS"
  bool digit = false;          // a digit in the folded word (words that are not numbers)
  bool sentence_start = false;
  bool in_title = false;
  bool body_entity = false;  // an entity of the body (is_entity with trusted capitals)
};

// The words of one item: tokens and their folded forms in one buffer (no string per word).
// Reused per thread.
struct Words {
  std::vector<Token> tokens;
  std::string text;

  std::string_view folded(const Token& token) const {
    return std::string_view(text).substr(token.begin, token.size);
  }
  void clear() {
    tokens.clear();
    text.clear();
  }
  // Completes `token`, whose folded form is text[token.begin, end): false (and nothing kept)
  // when that is empty.
  bool push(Token& token) {
    token.size = static_cast<std::uint32_t>(text.size() - token.begin);
    if (token.size == 0) return false;
    const std::string_view word = folded(token);
    token.hash = XXH3_64bits(word.data(), word.size());
    if (!token.number) token.stop = stop_word_languages(word, token.hash);
    tokens.push_back(token);
    return true;
  }
};

// A word (raw text from the feed) as a Token; false when nothing is left of it.
bool make_ascii_token(std::string_view raw, bool number, Token& token, Words& words) {
  std::size_t prefix = 0;
  const std::string_view bare = strip_clitics(raw, prefix);
  if (bare.empty()) return false;
  auto upper = [](char c) { return c >= 'A' && c <= 'Z'; };
  token.capitalised = upper(raw[prefix]);
  token.number = number;
  token.begin = static_cast<std::uint32_t>(words.text.size());
  // Capitals after the first letter, in the word or in what strip_clitics cut off ("'S").
  const auto after_first = raw.begin() + static_cast<std::ptrdiff_t>(prefix) + 1;
  if (number) {
    token.inner_capital = std::any_of(after_first, raw.end(), upper);
    append_number(bare, words.text);
  } else {
    // Folded in place, capitals noted on the way.
    words.text.append(bare);
    char* folded = words.text.data() + token.begin;
    bool inner = false;
    bool digit = false;
    for (std::size_t k = 0; k < bare.size(); ++k) {
      if (upper(folded[k])) {
        folded[k] = static_cast<char>(folded[k] + 32);
        inner = inner || k > 0;
      }
      digit = digit || (folded[k] >= '0' && folded[k] <= '9');
    }
    token.digit = digit;
    token.inner_capital =
        inner ||
        std::any_of(after_first + static_cast<std::ptrdiff_t>(bare.size()) - 1, raw.end(), upper);
  }
  return words.push(token);
}

// Word boundaries of ASCII text by the rules ICU's root word break iterator applies to ASCII
// (UAX #29 WB5-WB13b: letters (and '@'), digits and '_' hold together; '.' and '\'' between two
// letters or two digits, ',' and ';' between two digits). Checked against ICU by the features
// tests; ICU costs about a third of feature extraction, and most feed text is ASCII.
enum Class : std::uint8_t { other, letter, digit, extend, mid_letter_number, mid_number };

constexpr std::array<Class, 256> kClasses = [] {
  std::array<Class, 256> classes{};
  for (int c = 0; c < 256; ++c) {
    // ICU 72's root rules count '@' as a letter ("user@example.com" is one word).
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '@') {
      classes[c] = letter;
    } else if (c >= '0' && c <= '9') {
      classes[c] = digit;
    } else if (c == '_') {
      classes[c] = extend;
    } else if (c == '.' || c == '\'') {
      classes[c] = mid_letter_number;
    } else if (c == ',' || c == ';') {
      classes[c] = mid_number;
    }
  }
  return classes;
}();

void tokenize_ascii(std::string_view text, bool in_title, bool& sentence_start, Words& words) {
  auto classify = [](char c) { return kClasses[static_cast<unsigned char>(c)]; };
  auto joins = [](Class c) { return c == letter || c == digit || c == extend; };
  const std::size_t n = text.size();
  std::size_t i = 0;
  while (i < n) {
    const Class first = classify(text[i]);
    if (!joins(first)) {
      const char c = text[i];
      if (c == '.' || c == '!' || c == '?' || c == ':' || c == '"' || c == '|')
        sentence_start = true;
      ++i;
      continue;
    }
    const std::size_t start = i;
    Class last = first;
    for (;;) {
      last = classify(text[i]);
      ++i;
      if (i >= n) break;
      const Class next = classify(text[i]);
      if (joins(next)) continue;
      if (i + 1 < n && (next == mid_letter_number || next == mid_number)) {
        const Class after = classify(text[i + 1]);
        if ((next == mid_letter_number && last == letter && after == letter) ||
            (last == digit && after == digit)) {
          ++i;  // the middle character; the loop takes the one after
          continue;
        }
      }
      break;
    }
    // ICU's status comes from the word's end: a digit (or a '_' right after one) makes it a
    // number, a letter (or another '_') a letter word; a lone '_' is no word.
    const std::size_t length = i - start;
    if (length == 1 && first == extend) continue;
    const char end_char = text[i - 1];
    const bool number = classify(end_char) == digit ||
                        (end_char == '_' && length >= 2 && classify(text[i - 2]) == digit);
    Token token;
    token.in_title = in_title;
    token.sentence_start = sentence_start;
    sentence_start = false;
    make_ascii_token(text.substr(start, length), number, token, words);
  }
}

// Set by tests only: ICU for every text, the reference the ASCII path is checked against.
thread_local bool icu_only = false;

void tokenize_icu(std::string_view text, bool in_title, bool& sentence_start, Words& words) {
  icu::BreakIterator& breaker = word_breaker();
  const icu::UnicodeString unicode = icu::UnicodeString::fromUTF8(
      icu::StringPiece(text.data(), static_cast<int32_t>(text.size())));
  breaker.setText(unicode);
  int32_t start = breaker.first();
  for (int32_t end = breaker.next(); end != icu::BreakIterator::DONE;
       start = end, end = breaker.next()) {
    const int32_t status = breaker.getRuleStatus();
    if (status < UBRK_WORD_NONE_LIMIT) {
      for (int32_t i = start; i < end; ++i) {
        const UChar c = unicode.charAt(i);
        if (c == '.' || c == '!' || c == '?' || c == ':' || c == 0x00BF || c == 0x00A1 ||
            c == '"' || c == 0x201C || c == 0x00AB || c == 0x2014 || c == '|')
          sentence_start = true;
      }
      continue;
    }
    Token token;
    token.in_title = in_title;
    token.sentence_start = sentence_start;
    sentence_start = false;
    const icu::UnicodeString word = unicode.tempSubStringBetween(start, end);
    std::string raw;
    word.toUTF8String(raw);
    std::size_t prefix = 0;
    std::string_view bare = strip_clitics(raw, prefix);
    if (bare.empty()) continue;
    const UChar32 first = word.char32At(static_cast<int32_t>(prefix));
    token.capitalised = u_isupper(first);
    for (int32_t i = static_cast<int32_t>(prefix) + 1; i < word.length(); ++i) {
      if (u_isupper(word.charAt(i))) token.inner_capital = true;
    }
    token.number = status >= UBRK_WORD_NUMBER && status < UBRK_WORD_NUMBER_LIMIT;
    token.begin = static_cast<std::uint32_t>(words.text.size());
    if (token.number) {
      append_number(bare, words.text);
    } else if (is_ascii(bare)) {
      for (char c : bare) {
        words.text.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c);
        token.digit = token.digit || (c >= '0' && c <= '9');
      }
    } else {
      words.text += fold(icu::UnicodeString::fromUTF8(
          icu::StringPiece(bare.data(), static_cast<int32_t>(bare.size()))));
      token.digit = std::any_of(words.text.begin() + token.begin, words.text.end(),
                                [](char c) { return c >= '0' && c <= '9'; });
    }
    words.push(token);
  }
}

// A space never joins two words, so text splits at spaces: runs of ASCII pieces take the
// fast path, a piece with any other character (an accent, an ideograph, a curly quote) ICU.
void tokenize(std::string_view text, bool in_title, Words& words) {
  bool sentence_start = true;
  if (icu_only) {
    tokenize_icu(text, in_title, sentence_start, words);
    return;
  }
  std::size_t run = 0;  // start of the pending ASCII run (0 or a space)
  auto non_ascii = [&](std::size_t from) {
    const auto found = std::find_if(text.begin() + static_cast<std::ptrdiff_t>(from), text.end(),
                                    [](char c) { return static_cast<unsigned char>(c) >= 0x80; });
    return static_cast<std::size_t>(found - text.begin());
  };
  for (std::size_t p = non_ascii(0); p < text.size(); p = non_ascii(run)) {
    // The piece around p, between spaces.
    const std::size_t space = text.rfind(' ', p);
    const std::size_t at = space == std::string_view::npos || space < run ? run : space + 1;
    std::size_t end = text.find(' ', p);
    if (end == std::string_view::npos) end = text.size();
    tokenize_ascii(text.substr(run, at - run), in_title, sentence_start, words);
    tokenize_icu(text.substr(at, end - at), in_title, sentence_start, words);
    run = end;
  }
  if (run < text.size()) tokenize_ascii(text.substr(run), in_title, sentence_start, words);
}

Language guess_language(const std::vector<Token>& tokens) {
  std::array<int, 5> hits{};
  for (const Token& token : tokens) {
    if (token.stop == 0) continue;
    for (Language language : {Language::en, Language::fr, Language::de, Language::es}) {
      if (token.stop & (1u << static_cast<unsigned>(language)))
        ++hits[static_cast<std::size_t>(language)];
    }
  }
  const auto best = std::max_element(hits.begin() + 1, hits.end());
  return *best == 0 ? Language::unknown : static_cast<Language>(best - hits.begin());
}

// Title Case headlines ("Apple Unveils New Macs") capitalise every word: there a capital
// says nothing about a name.
bool is_title_case(const std::vector<Token>& tokens) {
  int words = 0;
  int capitals = 0;
  for (const Token& token : tokens) {
    if (!token.in_title || token.number || token.size < 4 || token.stop != 0) continue;
    ++words;
    if (token.capitalised) ++capitals;
  }
  return words >= 3 && capitals * 10 >= words * 7;
}

}  // namespace

std::string_view to_string(Language language) {
  switch (language) {
    case Language::en:
      return "en";
    case Language::fr:
      return "fr";
    case Language::de:
      return "de";
    case Language::es:
      return "es";
    case Language::unknown:
      break;
  }
  return "unknown";
}

bool is_stop_word(std::string_view folded_word) {
  return is_stop_word_of(folded_word, Language::unknown);
}

std::vector<std::string> normalized_words(std::string_view text) {
  Words words;
  tokenize(text, false, words);
  std::vector<std::string> folded;
  for (const Token& token : words.tokens)
    folded.emplace_back(words.folded(token));
  return folded;
}

namespace {

// A set of 64-bit hashes (or a map of them to an index) by open addressing, cleared in O(1)
// by a new stamp: per-item sets of words without sorting or allocating. Keys are hashes
// already, so their low bits pick the slot.
class HashSlots {
 public:
  // Empties the table and makes room for `expected` keys at most half full.
  void reset(std::size_t expected) {
    std::size_t size = 64;
    while (size < 2 * expected)
      size *= 2;
    if (size > slots_.size()) {
      slots_.assign(size, Slot{});
      stamp_ = 0;
    }
    mask_ = slots_.size() - 1;
    if (++stamp_ == 0) {
      for (Slot& slot : slots_)
        slot.stamp = 0;
      stamp_ = 1;
    }
  }
  // The value of `key`, inserted with `value` when absent: {value, inserted}.
  std::pair<std::uint32_t, bool> insert(std::uint64_t key, std::uint32_t value) {
    for (std::size_t i = key & mask_;; i = (i + 1) & mask_) {
      Slot& slot = slots_[i];
      if (slot.stamp != stamp_) {
        slot = {key, value, stamp_};
        return {value, true};
      }
      if (slot.key == key) return {slot.value, false};
    }
  }
  bool contains(std::uint64_t key) const {
    for (std::size_t i = key & mask_;; i = (i + 1) & mask_) {
      const Slot& slot = slots_[i];
      if (slot.stamp != stamp_) return false;
      if (slot.key == key) return true;
    }
  }

 private:
  struct Slot {
    std::uint64_t key = 0;
    std::uint32_t value = 0;
    std::uint32_t stamp = 0;
  };
  std::vector<Slot> slots_;
  std::size_t mask_ = 0;
  std::uint32_t stamp_ = 0;
};

Features extract(std::string_view title, std::string_view body, std::vector<std::string>* names,
                 std::vector<TitleCapital>* capital_words = nullptr) {
  // Reused per thread: the words of one item are a few hundred small strings.
  thread_local Words words;
  words.clear();
  tokenize(title, true, words);
  tokenize(cut_utf8(body, kMaxBodyBytes), false, words);
  std::vector<Token>& tokens = words.tokens;

  Features features;
  features.language = guess_language(tokens);
  const bool title_case = is_title_case(tokens);

  // German capitalises every noun: there long compounds and the usual noun endings are words,
  // not names (names of firms rarely look like "Cybersicherheitsbehorde").
  const bool german = features.language == Language::de;
  auto german_noun = [](std::string_view word) {
    if (word.size() > 11) return true;
    for (std::string_view suffix :
         {"ung", "ungen", "heit", "keit", "schaft", "tat", "ion", "ionen", "chen", "nis", "tum",
          "ismus", "behorde", "behorden", "ern", "ische", "ischen", "lich"}) {
      if (word.ends_with(suffix)) return true;
    }
    return false;
  };
  auto is_entity = [&](const Token& token, bool trust_capital) {
    const std::string_view folded = words.folded(token);
    if (token.number) return folded.size() >= 2 || folded == "0";
    if (token.stop != 0 || folded.size() < 2) return false;
    if (token.inner_capital) return true;
    if (token.digit) return true;
    if (german && german_noun(folded)) return false;
    return trust_capital && token.capitalised && !token.sentence_start;
  };

  // Body names first: a Title Case headline's capitals count only where the body agrees, and
  // a capital at the start of a sentence only where the word is capitalised elsewhere too.
  // Sets of word hashes, reused per thread: no allocation per word.
  thread_local HashSlots body_names;
  thread_local HashSlots lower_case;
  body_names.reset(tokens.size());
  lower_case.reset(tokens.size());
  for (Token& token : tokens) {
    token.body_entity = !token.in_title && is_entity(token, true);
    if (token.body_entity) body_names.insert(token.hash, 0);
    // Only words that may be asked about below (no stop words, no single letters).
    if (!token.number && !token.capitalised && token.stop == 0 && token.size >= 2)
      lower_case.insert(token.hash, 0);
  }

  // Terms summed per stem in a table (first-seen order), then sorted: far fewer than words.
  thread_local HashSlots stems;
  thread_local std::vector<Term> terms;
  thread_local std::vector<std::uint32_t> entities;
  thread_local std::vector<std::uint32_t> numbers;
  thread_local std::vector<std::pair<std::uint32_t, std::uint32_t>> capitals;
  stems.reset(tokens.size());
  terms.clear();
  entities.clear();
  numbers.clear();
  capitals.clear();
  for (const Token& token : tokens) {
    const std::string_view folded = words.folded(token);
    const bool trust = !token.in_title || !title_case || body_names.contains(token.hash);
    bool entity = token.in_title ? is_entity(token, trust) : token.body_entity;
    if (!entity && trust && token.capitalised && token.sentence_start && !token.number &&
        folded.size() >= 2 && token.stop == 0 && !(german && german_noun(folded)) &&
        (body_names.contains(token.hash) || !lower_case.contains(token.hash))) {
      // "Twitter said..." opens a sentence; "Hackers said..." too, but "hackers" is also
      // written in lower case somewhere, or is a rare word that IDF already discounts.
      entity = true;
    }
    const bool capital = !entity && token.in_title && title_case && token.capitalised &&
                         !token.number && token.stop == 0 && folded.size() >= 2 &&
                         !(german && german_noun(folded));
    if (entity) {
      if (names != nullptr) names->emplace_back(folded);
      const auto id = static_cast<std::uint32_t>(token.hash);  // = hash32(folded)
      entities.push_back(id);
      if (token.number) numbers.push_back(id);
    }
    if (folded.size() < 2 || token.stop != 0) continue;
    // A word of at most kTermLetters bytes is its own stem.
    const std::uint32_t stem = token.number || folded.size() <= kTermLetters
                                   ? static_cast<std::uint32_t>(token.hash)
                                   : hash32(first_letters_view(folded, kTermLetters));
    if (capital) {
      capitals.emplace_back(static_cast<std::uint32_t>(token.hash), stem);
      if (capital_words != nullptr)
        capital_words->push_back(
            {std::string(folded), static_cast<std::uint32_t>(token.hash), stem});
    }
    const float weight = token.in_title ? kTitleWeight : 1.0f;
    const auto [at, inserted] = stems.insert(stem, static_cast<std::uint32_t>(terms.size()));
    if (inserted) {
      terms.push_back({stem, weight});
    } else {
      terms[at].weight += weight;
    }
  }
  // Weights are sums of 1s and 2s: exact in any order, so the same as summing in id order.
  std::sort(terms.begin(), terms.end(), [](const Term& a, const Term& b) { return a.id < b.id; });
  features.terms.assign(terms.begin(), terms.end());
  features.entity_sequence.assign(entities.begin(), entities.end());
  std::sort(entities.begin(), entities.end());
  entities.erase(std::unique(entities.begin(), entities.end()), entities.end());
  features.entities.assign(entities.begin(), entities.end());
  std::sort(numbers.begin(), numbers.end());
  numbers.erase(std::unique(numbers.begin(), numbers.end()), numbers.end());
  features.numbers.assign(numbers.begin(), numbers.end());
  std::sort(capitals.begin(), capitals.end());
  capitals.erase(std::unique(capitals.begin(), capitals.end()), capitals.end());
  features.title_capitals.assign(capitals.begin(), capitals.end());

  // One-permutation MinHash over word 3-shingles of the body (the title of a copy is the part
  // most often rewritten).
  features.sketch.fill(kEmptySlot);
  std::uint64_t previous[2] = {0, 0};
  int seen = 0;
  for (const Token& token : tokens) {
    if (token.in_title) continue;
    const std::uint64_t h = token.hash;
    if (seen >= 2) {
      const std::uint64_t shingle = mix64(previous[0] * 0x9E3779B97F4A7C15ULL ^
                                          mix64(previous[1] + 0x632BE59BD9B4E019ULL) ^ h);
      const std::size_t slot = shingle % kSketchSize;
      // The top 16 bits; kEmptySlot stays free for empty slots.
      const auto value =
          std::min<std::uint16_t>(static_cast<std::uint16_t>(shingle >> 48), kEmptySlot - 1);
      features.sketch[slot] = std::min(features.sketch[slot], value);
      ++features.shingles;
    }
    previous[0] = previous[1];
    previous[1] = h;
    ++seen;
  }
  return features;
}

}  // namespace

Features extract_features(std::string_view title, std::string_view body) {
  return extract(title, body, nullptr);
}

Features extract_features_icu_only(std::string_view title, std::string_view body) {
  icu_only = true;
  Features features = extract(title, body, nullptr);
  icu_only = false;
  return features;
}

std::vector<std::string> entity_names(std::string_view title, std::string_view body) {
  std::vector<std::string> names;
  extract(title, body, &names);
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return names;
}

std::vector<TitleCapital> title_capital_words(std::string_view title, std::string_view body) {
  std::vector<TitleCapital> words;
  extract(title, body, nullptr, &words);
  std::sort(words.begin(), words.end(),
            [](const TitleCapital& a, const TitleCapital& b) { return a.word < b.word; });
  words.erase(
      std::unique(words.begin(), words.end(),
                  [](const TitleCapital& a, const TitleCapital& b) { return a.word == b.word; }),
      words.end());
  return words;
}

}  // namespace feedmerge::dedup
