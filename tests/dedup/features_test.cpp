#include "feedmerge/dedup/features.h"

#include "feedmerge/dedup/story_index.h"
#include "feedmerge/normalize/text.h"
#include "support/xorshift.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

using namespace feedmerge::dedup;

namespace {
bool has(const std::vector<std::string>& words, const std::string& word) {
  return std::find(words.begin(), words.end(), word) != words.end();
}
}  // namespace

TEST_CASE("normalised words are NFKC, case-folded and without diacritics") {
  const auto words = normalized_words("Übernahme: ÉTÉ ﬁnal Straße café");
  CHECK(words == std::vector<std::string>{"ubernahme", "ete", "final", "strasse", "cafe"});
}

TEST_CASE("stop words of the four languages are dropped") {
  CHECK(is_stop_word("the"));
  CHECK(is_stop_word("les"));
  CHECK(is_stop_word("und"));
  CHECK(is_stop_word("los"));
  CHECK_FALSE(is_stop_word("oracle"));
}

TEST_CASE("language is told by its stop words") {
  CHECK(
      extract_features("", "The company said that it would buy the firm for the money.").language ==
      Language::en);
  CHECK(extract_features("", "La société a dit qu'elle achèterait les actions de la firme.")
            .language == Language::fr);
  CHECK(extract_features("", "Die Firma sagte, dass sie die Aktien und das Werk kaufen wird.")
            .language == Language::de);
  CHECK(
      extract_features("", "La empresa dijo que compraría las acciones de los socios.").language ==
      Language::es);
}

TEST_CASE("entities: names, acronyms and numbers, also across a translation") {
  const auto en = entity_names("Oracle chosen for TikTok deal",
                               "The White House said on Sunday that Oracle will become "
                               "TikTok's trusted technology partner in a $27.7 billion deal.");
  const auto fr = entity_names("Oracle choisi pour l'accord TikTok",
                               "La Maison Blanche a dit dimanche qu'Oracle deviendra le "
                               "partenaire de TikTok dans un accord de 27,7 milliards.");
  for (const char* name : {"oracle", "tiktok", "27.7"}) {
    CAPTURE(name);
    CHECK(has(en, name));
    CHECK(has(fr, name));
  }
  CHECK_FALSE(has(en, "technology"));  // lower case: a word, not a name
}

TEST_CASE("a Title Case headline keeps its capitals apart for the stream to judge") {
  const std::string body = "He made several trips to South Africa as a peace broker.";
  const auto title_case = extract_features(
      "In Africa, Jesse Jackson Was Esteemed for His Fight Against Apartheid", body);
  const auto names =
      entity_names("In Africa, Jesse Jackson Was Esteemed for His Fight Against Apartheid", body);
  // Its body does not name him: the headline's capitals are not names by themselves...
  CHECK_FALSE(has(names, "jackson"));
  CHECK(has(names, "africa"));  // ...but where the body agrees, they are
  // ...and they wait for the story index's lexicon (Jesse, Jackson, Esteemed, Fight, Apartheid).
  CHECK(title_case.title_capitals.size() == 5);
  CHECK(std::is_sorted(title_case.title_capitals.begin(), title_case.title_capitals.end()));
  // A sentence-case headline says what it means by its capitals: nothing is kept apart.
  CHECK(extract_features("Jesse Jackson was esteemed by leaders across southern countries", body)
            .title_capitals.empty());
}

TEST_CASE("numbers are names too, and kept apart") {
  const auto f = extract_features("TikTok deal", "Oracle takes 12.5% for $1.2 billion in 2020.");
  CHECK(f.numbers.size() == 3);
  for (std::uint32_t number : f.numbers)
    CHECK(std::binary_search(f.entities.begin(), f.entities.end(), number));
  CHECK(f.entities.size() > f.numbers.size());  // Oracle
  CHECK(extract_features("No figures", "Oracle takes a stake.").numbers.empty());
}

TEST_CASE("copies share their MinHash sketch, other texts do not") {
  const std::string body =
      "Hackers believed to be working for a foreign government have been monitoring internal "
      "email traffic at the U.S. Treasury and Commerce departments, according to people "
      "familiar with the matter, in a breach that officials fear may be only the tip of the "
      "iceberg.";
  const auto a = extract_features("Treasury hacked", body);
  const auto b =
      extract_features("Report: Treasury hacked", "You are reading: Treasury hacked. " + body +
                                                      " Originally published by Circuit Journal.");
  const auto c = extract_features("Zoom revenue soars",
                                  "Zoom said quarterly revenue more than quadrupled as people "
                                  "kept meeting online, and raised its forecast for the year.");
  int same_ab = 0;
  int same_ac = 0;
  for (std::size_t i = 0; i < kSketchSize; ++i) {
    same_ab += a.sketch[i] != kEmptySlot && a.sketch[i] == b.sketch[i];
    same_ac += a.sketch[i] != kEmptySlot && a.sketch[i] == c.sketch[i];
  }
  CHECK(same_ab > same_ac + 10);
}

TEST_CASE("the fast ASCII word breaks give the features ICU's give") {
  const std::vector<std::string> texts = {
      "U.S. Treasury hacked: SolarWinds' Orion, can't stop; e.g. 27.7 or 1,000,000 (3D) _x_ a_1",
      "Nvidia's $40 billion deal for Arm... \"Cambridge\" -- ARM-based chips | 2020-09-13 12:30",
      "example.com/path?q=1;2 it's 'quoted' l'entreprise qu'il 1.5.3 v2.0 9'000 .5 5. a.b. A'B'C",
      "AWS re:Invent, GPT-3's API; Oracle-TikTok deal! Why? Walmart: 7.5%; 12,5 % of 25,000 jobs",
      "Oracle choisi par TikTok aux États-Unis. «Nous» — l’entreprise dit qu’il a 27,7 milliards",
      "Münchner Behörde: Überwachung in 東京 und café-Besitzer’s “Deal”; ¿Qué? ¡Sí! naïve 3½",
  };
  for (const std::string& text : texts) {
    INFO(text);
    CHECK(extract_features(text.substr(0, 30), text) ==
          extract_features_icu_only(text.substr(0, 30), text));
  }
  // Random text: letters, digits, every separator the rules treat specially, and a few
  // non-ASCII characters (which send their piece of text to ICU).
  std::vector<std::string> alphabet;
  for (char c : std::string("aZbY09_.,;:'\"!?| -()$%/\t\n\r@#&*+=<>[]{}~`^EeSs   "))
    alphabet.emplace_back(1, c);
  for (const char* c : {"é", "É", "東", "—", "“", "’", "ß", "«"})
    alphabet.emplace_back(c);
  feedmerge::test::XorShift64 next(0x9E3779B97F4A7C15ULL);
  int differing = 0;
  for (int round = 0; round < 3000; ++round) {
    std::string text;
    const std::size_t length = 1 + next() % 60;
    for (std::size_t i = 0; i < length; ++i)
      text += alphabet[next() % alphabet.size()];
    if (extract_features("", text) != extract_features_icu_only("", text)) {
      if (++differing <= 5) MESSAGE("differs: [" << text << "]");
    }
  }
  CHECK(differing == 0);
}

TEST_CASE("make_candidate turns only the text features read into text, with the same result") {
  // The reference: the whole text of the first 6,000 bytes of HTML, cut by extract_features.
  auto cut_html = [](const std::string& html) {
    std::size_t limit = 4 * kMaxBodyBytes;
    if (html.size() <= limit) return html;
    while (limit > 0 && (static_cast<unsigned char>(html[limit]) & 0xC0) == 0x80)
      --limit;
    return html.substr(0, limit);
  };
  auto reference = [&](const feedmerge::model::Item& item) {
    std::string body = feedmerge::normalize::html_to_text(cut_html(item.summary));
    if (body.size() < 300 && !item.content.empty()) {
      if (!body.empty()) body += ' ';
      body += feedmerge::normalize::html_to_text(cut_html(item.content));
    }
    return extract_features(item.title, body);
  };
  const std::vector<std::string> paragraphs = {
      "<p>Oracle   won the TikTok deal, said  Walmart&#8217;s CEO.</p>\n",
      "<p>L&rsquo;entreprise a choisi Oracle &eacute;t&eacute; 2020 &mdash; \u00a0 27,7 "
      "milliards</p>",
      "<div><script>var x = '<p>';</script>Nvidia buys Arm for $40 billion.</div>",
      "<!-- ad --><br/>Microsoft\tand   GitHub &amp; npm;  Straße 東京 &nbsp; café</p>",
      "plain words without any markup at all, and again and again ",
  };
  feedmerge::test::XorShift64 next(0x9E3779B97F4A7C15ULL);
  int differing = 0;
  for (int round = 0; round < 400; ++round) {
    feedmerge::model::Item item;
    item.title = "Oracle and TikTok: round " + std::to_string(round);
    for (std::size_t n = next() % (round % 3 == 0 ? 4 : 120); n > 0; --n)
      item.summary += paragraphs[next() % paragraphs.size()];
    for (std::size_t n = next() % 150; n > 0; --n)
      item.content += paragraphs[next() % paragraphs.size()];
    const Candidate candidate = make_candidate(item, 1, 1, true, {});
    if (candidate.features != reference(item)) ++differing;
  }
  CHECK(differing == 0);
}
