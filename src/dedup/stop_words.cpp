#include "dedup/stop_words.h"

// Inlined: words are a few bytes, where a call costs as much as the hash.
#define XXH_INLINE_ALL
#include <xxhash.h>

#include <array>
#include <cstdint>
#include <cstdlib>
#include <string>

namespace feedmerge::dedup {
namespace {

// Function words and the most common verbs of news prose, folded (no accents).
constexpr std::string_view kEnglish =
    "a about above after again against all also am an and any are as at be because been before "
    "being below between both but by can could did do does doing down during each few for from "
    "further had has have having he her here hers herself him himself his how i if in into is it "
    "its itself just me more most my myself no nor not now of off on once only or other our ours "
    "out over own same she should so some such than that the their theirs them themselves then "
    "there these they this those through to too under until up very was we were what when where "
    "which while who whom why will with would you your yours said says say according new "
    "will would its it's than also one two over";
constexpr std::string_view kFrench =
    "a au aux avec ce ces cet cette dans de des du elle elles en et eux il ils je la le les leur "
    "leurs lui ma mais me meme mes moi mon ne nos notre nous on ou par pas pour qu que qui sa se "
    "ses son sur ta te tes toi ton tu un une vos votre vous c d j l m n s t y ete etre avait "
    "avoir a ont est sont fait ete etait sera plus selon apres lors comme aussi tres tout tous "
    "toute toutes cela ceci dont ou si sans sous entre depuis chez vers ainsi donc car ni leur "
    "deja encore alors dit ses";
constexpr std::string_view kGerman =
    "aber alle allem allen aller alles als also am an ander andere anderem anderen anderer auch "
    "auf aus bei bin bis bist da damit dann das dass dasselbe dazu dein deine dem den denn der "
    "des dich die dies diese diesem diesen dieser dieses doch dort du durch ein eine einem einen "
    "einer eines er es euer eure fur gegen gewesen hab habe haben hat hatte hatten hier hin "
    "hinter ich ihm ihn ihnen ihr ihre im in indem ins ist jede jedem jeden jeder jedes jene "
    "jetzt kann kein keine konnen man manche mein mit muss nach nicht nichts noch nun nur ob "
    "oder ohne sehr sein seine seit sich sie sind so solche soll sondern um und uns unser unter "
    "vom von vor war waren warum was weil welche wenn werde werden wie wieder will wir wird "
    "wurde wurden zu zum zur zwar zwischen uber laut sagte mehr bereits";
constexpr std::string_view kSpanish =
    "a al algo algunas algunos ante antes como con contra cual cuando de del desde donde durante "
    "e el ella ellas ellos en entre era eran es esa esas ese eso esos esta estaba estan estas "
    "este esto estos fue fueron ha han hasta hay la las le les lo los mas me mi mis mucho muy "
    "ni no nos nosotros o otra otras otro otros para pero poco por porque que quien se sea ser "
    "si sido sin sobre su sus tambien tanto te tiene tienen todo todos tu un una uno unos y ya "
    "dijo segun tras";

// No stop word is longer (checked by build()): longer words skip the lookup.
constexpr std::size_t kLongestStopWord = 24;

// Open addressing over the words' XXH3 hashes, which the tokenizer computes anyway: one probe
// and one compare per word, no hashing of the string again. Entries are 8 bytes (8 KB in all,
// it stays in the cache): the hash's high half as a tag, the word as an offset into `words_`.
class Table {
 public:
  Table() {
    const std::string_view lists[] = {kEnglish, kFrench, kGerman, kSpanish};
    for (unsigned language = 0; language < 4; ++language) {
      std::string_view list = lists[language];
      while (!list.empty()) {
        const auto space = list.find(' ');
        const std::string_view word = list.substr(0, space);
        if (word.size() > kLongestStopWord) std::abort();  // raise kLongestStopWord
        if (!word.empty()) insert(word, 1u << (language + 1));
        if (space == std::string_view::npos) break;
        list.remove_prefix(space + 1);
      }
    }
  }

  unsigned find(std::string_view word, std::uint64_t hash) const {
    const auto tag = static_cast<std::uint32_t>(hash >> 32);
    for (std::size_t i = hash & kMask;; i = (i + 1) & kMask) {
      const Entry& entry = entries_[i];
      if (entry.languages == 0) return 0;
      if (entry.tag == tag && entry.size == word.size() && same(word, entry.offset))
        return entry.languages;
    }
  }

 private:
  // About 500 distinct words: at most half full.
  static constexpr std::size_t kSize = 1024;
  static constexpr std::size_t kMask = kSize - 1;
  struct Entry {
    std::uint32_t tag = 0;
    std::uint16_t offset = 0;
    std::uint8_t size = 0;
    std::uint8_t languages = 0;  // 0: empty
  };

  // Words are short: a loop beats a call to memcmp.
  bool same(std::string_view word, std::size_t offset) const {
    for (std::size_t k = 0; k < word.size(); ++k) {
      if (word[k] != words_[offset + k]) return false;
    }
    return true;
  }

  void insert(std::string_view word, unsigned language) {
    const std::uint64_t hash = XXH3_64bits(word.data(), word.size());
    const auto tag = static_cast<std::uint32_t>(hash >> 32);
    for (std::size_t i = hash & kMask;; i = (i + 1) & kMask) {
      Entry& entry = entries_[i];
      if (entry.languages == 0) {
        if (++used_ * 2 > kSize || words_.size() + word.size() > 0xffff) std::abort();
        entry = {tag, static_cast<std::uint16_t>(words_.size()),
                 static_cast<std::uint8_t>(word.size()), static_cast<std::uint8_t>(language)};
        words_.append(word);
        return;
      }
      if (entry.tag == tag && entry.size == word.size() && same(word, entry.offset)) {
        entry.languages = static_cast<std::uint8_t>(entry.languages | language);
        return;
      }
    }
  }

  std::array<Entry, kSize> entries_{};
  std::string words_;
  std::size_t used_ = 0;
};

const Table& table() {
  static const Table instance;
  return instance;
}

}  // namespace

unsigned stop_word_languages(std::string_view folded_word, std::uint64_t hash) {
  if (folded_word.size() > kLongestStopWord) return 0;
  return table().find(folded_word, hash);
}

unsigned stop_word_languages(std::string_view folded_word) {
  if (folded_word.size() > kLongestStopWord) return 0;
  return table().find(folded_word, XXH3_64bits(folded_word.data(), folded_word.size()));
}

bool is_stop_word_of(std::string_view folded_word, Language language) {
  const unsigned languages = stop_word_languages(folded_word);
  if (language == Language::unknown) return languages != 0;
  return (languages & (1u << static_cast<unsigned>(language))) != 0;
}

}  // namespace feedmerge::dedup
