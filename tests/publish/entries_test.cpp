// The entry a reader sees for a story (issue 14): "Also covered by" names each outlet once,
// by a clean name and in the output's language, skips same-URL copies, and the headline
// comes in the reader's language when [dedup] languages says which.
#include "feedmerge/publish/entries.h"

#include <doctest/doctest.h>

#include "feedmerge/publish/settings.h"
#include "feedmerge/publish/site.h"

#include <string>
#include <vector>

namespace feedmerge::publish {
namespace {

model::StoryMember member(std::int64_t id, std::string feed, std::string title, std::string link,
                          std::int64_t published) {
  model::StoryMember m;
  m.item_id = id;
  m.feed_id = id;
  m.feed_url = "https://" + feed + "/feed";
  m.feed_title = feed;
  m.feed_link = "https://" + feed + "/";
  m.item.title = std::move(title);
  m.item.link = std::move(link);
  m.item.published = Time{std::chrono::seconds{published}};
  m.relation = id == 1 ? "original" : "report";
  return m;
}

model::Story story_of(std::vector<model::StoryMember> members) {
  model::Story s;
  s.id = 7;
  s.first_published = Time{std::chrono::seconds{1}};
  s.updated = Time{std::chrono::seconds{100}};
  s.members = std::move(members);
  return s;
}

std::vector<std::string> outlets(const std::vector<EntryMember>& members) {
  std::vector<std::string> out;
  for (const EntryMember& m : members)
    out.push_back(m.outlet + " " + m.link);
  return out;
}

}  // namespace

TEST_CASE("Also covered by lists each outlet once, by its earliest member") {
  std::vector<model::StoryMember> members = {
      member(1, "alpha.example", "Lead", "https://alpha.example/lead", 1),
      member(2, "ndtv.example", "NDTV one", "https://ndtv.example/1", 5),
      member(3, "ndtv.example", "NDTV two", "https://ndtv.example/2", 3),
      member(4, "beta.example", "Beta", "https://beta.example/b", 4),
      member(5, "ndtv.example", "NDTV three", "https://ndtv.example/3", 6),
      member(6, "alpha.example", "Alpha update", "https://alpha.example/update", 7)};
  for (model::StoryMember& m : members)
    m.feed_title = m.feed_url.starts_with("https://ndtv") ? "NDTV News Search Records Found 1000"
                                                          : m.feed_title;
  const Entry e = make_entry(story_of(members), {});
  CHECK(e.also.size() == 5);  // every other member stays in the data (JSON Feed's members)
  // NDTV once, by its earliest item (published 3); alpha, the representative's outlet, not
  // at all; by publication.
  CHECK(outlets(e.covered_by) == std::vector<std::string>{"NDTV News https://ndtv.example/2",
                                                          "beta.example https://beta.example/b"});
  CHECK(e.covered_by[0].title == "NDTV two");
  CHECK(e.content_html ==
        "<p>Also covered by:</p><ul><li><a href=\"https://ndtv.example/2\">NDTV News</a>: NDTV "
        "two</li><li><a href=\"https://beta.example/b\">beta.example</a>: Beta</li></ul>");
}

TEST_CASE("Also covered by skips same-URL copies of the entry's link and of a listed member") {
  const Entry e = make_entry(
      story_of({member(1, "alpha.example", "Lead", "https://alpha.example/lead", 1),
                // the representative's own article, republished with tracking and www.
                member(2, "gamma.example", "Lead (copy)",
                       "https://www.alpha.example/lead?utm_source=rss", 2),
                member(3, "beta.example", "Beta", "https://beta.example/b", 3),
                member(4, "delta.example", "Beta again", "http://beta.example/b/", 4),
                member(5, "delta.example", "Delta's own", "https://delta.example/d", 5)}),
      {});
  // delta's first item is beta's article: delta is listed by its own, later item.
  CHECK(outlets(e.covered_by) == std::vector<std::string>{"beta.example https://beta.example/b",
                                                          "delta.example https://delta.example/d"});
}

TEST_CASE("an outlet is named by its configured title, else its cleaned feed title") {
  const Entry e =
      make_entry(story_of({member(1, "alpha.example", "Lead", "https://alpha.example/lead", 1),
                           member(2, "ndtv.example", "NDTV", "https://ndtv.example/1", 2)}),
                 {"", "NDTV (configured)"});
  REQUIRE(e.covered_by.size() == 1);
  CHECK(e.covered_by[0].outlet == "NDTV (configured)");

  // Channel titles of tests/data/corpus/real/*.rss, and their home pages.
  struct Case {
    const char* title;
    const char* link;
    const char* name;  // "" = generic: the caller falls back to the host
  };
  const Case cases[] = {
      {"NDTV News Search Records Found 1000", "https://www.ndtv.com/", "NDTV News"},
      {"World", "https://www.washingtonpost.com", ""},
      {"Top Stories", "https://www.abc.net.au/news", ""},
      {"Asia", "https://www.economist.com/asia", ""},
      {"NYT > World News", "https://www.nytimes.com/section/world", "NYT"},
      {"World \xE2\x80\x93 TIME", "https://time.com", "TIME"},
      {"Tech \xE2\x80\x93 TIME", "https://time.com", "TIME"},
      {"World - CBSNews.com", "https://www.cbsnews.com/", "CBSNews.com"},
      {"Dawn - World", "https://www.dawn.com/", "Dawn"},
      {"ABC News: International", "http://abcnews.com", "ABC News"},
      {"WSJ.com: World News", "http://online.wsj.com/page/2_0006.html", "WSJ.com"},
      {"Al Jazeera \xE2\x80\x93 Breaking News, World News and Video from Al Jazeera",
       "https://www.aljazeera.com", "Al Jazeera"},
      {"Wellness: Health, Fitness, Nutrition & More - The Washington Post",
       "http://www.washingtonpost.com/lifestyle/wellness", "The Washington Post"},
      {"The Christian Science Monitor | All stories", "https://www.csmonitor.com",
       "The Christian Science Monitor"},
      {"AllAfrica News: Latest", "https://allafrica.com/latest/", "AllAfrica News"},
      {"HuffPost Canada - Athena2 - All Posts", "http://www.aol.com", "HuffPost Canada"},
      {"Rest of World -", "https://restofworld.org", "Rest of World"},
      {"TheWeek feed", "https://theweek.com", "TheWeek"},
      {"reddit: the front page of the internet", "https://www.reddit.com/", "reddit"},
      {"Taverncast - Happy Hour in Your Head - Since 2005", "http://www.taverncast.com/",
       "Taverncast"},
      {"Jornal de Not\xC3\xAD"
       "cias - \xC3\x9Altimas Not\xC3\xAD"
       "cias",
       "http://www.jn.pt",
       "Jornal de Not\xC3\xAD"
       "cias"},
      {"UOL Noticias", "http://noticias.uol.com.br/", "UOL Noticias"},
      {"EL PA\xC3\x8DS in English", "https://english.elpais.com", "EL PA\xC3\x8DS in English"},
      {"Stratechery by Ben Thompson", "https://stratechery.com", "Stratechery by Ben Thompson"},
      {"BBC News", "https://www.bbc.co.uk/news/world", "BBC News"},
      {"News", "https://example.org/", ""},
      {"RSS", "https://example.org/", ""},
      {"Latest", "https://example.org/", ""},
      {"Home", "https://example.org/", ""},
  };
  for (const Case& c : cases) {
    CAPTURE(c.title);
    CHECK(clean_feed_title(c.title, c.link) == c.name);
  }
  // A generic title falls back to the host of the home page.
  CHECK(outlet_name("", "World", "https://www.washingtonpost.com", "https://x.example/f") ==
        "washingtonpost.com");
  CHECK(outlet_name("", "Top Stories", "https://www.abc.net.au/news", "https://x/f") ==
        "abc.net.au");
  CHECK(outlet_name("World", "NDTV", "", "https://x.example/f") == "World");  // configured: as is
}

TEST_CASE("the Also covered by label speaks the output's language") {
  CHECK(also_covered_label("") == "Also covered by:");
  CHECK(also_covered_label("en-GB") == "Also covered by:");
  CHECK(also_covered_label("fr") == "\xC3\x89galement couvert par :");
  CHECK(also_covered_label("de-AT") == "Auch berichtet von:");
  CHECK(also_covered_label("ES") == "Tambi\xC3\xA9n cubierto por:");
  CHECK(also_covered_label("xx") == "Also covered by:");

  const model::Story story =
      story_of({member(1, "alpha.example", "Lead", "https://alpha.example/lead", 1),
                member(2, "beta.example", "Beta", "https://beta.example/b", 2)});
  const Entry e = make_entry(story, {}, {.languages = {}, .preferred_hosts = {}, .language = "de"});
  CHECK(e.content_html.starts_with("<p>Auch berichtet von:</p><ul>"));
}

TEST_CASE("the representative: the store's without languages, else the reader's language") {
  model::StoryMember french = member(1, "lefil.example",
                                     "La Maison Blanche approuve l'accord entre les deux "
                                     "entreprises pour la vente de l'application",
                                     "https://lefil.example/accord", 1);
  french.item.summary =
      "Le pr\xC3\xA9sident a donn\xC3\xA9 son accord de principe pour la vente "
      "de la filiale am\xC3\xA9ricaine, selon la Maison Blanche.";
  model::StoryMember english = member(2, "markets.example",
                                      "The White House approves the deal between the two "
                                      "companies for the sale of the app",
                                      "https://markets.example/deal", 2);
  english.item.summary =
      "The president gave his approval in principle to the sale of the "
      "American subsidiary, the White House said on Saturday.";
  english.relation = "translation";
  model::StoryMember german = member(3, "welt.example",
                                     "Das Wei\xC3\x9F"
                                     "e Haus billigt den Verkauf der App an die beiden Firmen",
                                     "https://welt.example/app", 3);
  german.item.summary =
      "Der Pr\xC3\xA4sident hat dem Verkauf der amerikanischen Tochter im "
      "Grundsatz zugestimmt, wie das Wei\xC3\x9F"
      "e Haus mitteilte.";
  const model::Story story = story_of({french, english, german});

  // No languages: the store's representative (members[0]), whatever its language.
  CHECK(representative_index(story, {}) == 0);
  CHECK(make_entry(story, {}).link == "https://lefil.example/accord");

  // English first: the English translation heads the entry, the French original is listed.
  EntryOptions en{.languages = {"en", "fr"}, .preferred_hosts = {}, .language = ""};
  const Entry e = make_entry(story, {}, en);
  CHECK(e.link == "https://markets.example/deal");
  CHECK(e.source.outlet == "markets.example");
  CHECK(outlets(e.covered_by) ==
        std::vector<std::string>{"lefil.example https://lefil.example/accord",
                                 "welt.example https://welt.example/app"});

  // German first, as a region tag.
  CHECK(representative_index(story,
                             {.languages = {"de-CH"}, .preferred_hosts = {}, .language = ""}) == 2);
  // A language nobody wrote in: the store's choice stands.
  CHECK(representative_index(story, {.languages = {"pt"}, .preferred_hosts = {}, .language = ""}) ==
        0);

  // Within one language, an original before a translation, then a preferred host.
  model::StoryMember english2 = english;
  english2.item_id = 4;
  english2.feed_url = "https://wire.example/feed";
  english2.item.link = "https://wire.example/deal";
  english2.relation = "report";
  const model::Story two = story_of({french, english, english2});
  CHECK(representative_index(two, en) == 2);
  english2.relation = "copy";
  const model::Story copies = story_of({french, english, english2});
  CHECK(representative_index(copies, en) == 1);  // both derived: the store's order
  CHECK(representative_index(
            copies, {.languages = {"en"}, .preferred_hosts = {"wire.example"}, .language = ""}) ==
        2);
}

TEST_CASE("an output's language is its channel's and its label's; [dedup] languages reach it") {
  config::OutputConfig configured;
  configured.language = "fr";
  config::DedupConfig dedup;
  dedup.languages = {"de", "en"};
  dedup.preferred = {"beta.example"};
  const OutputSettings output = output_settings(configured, dedup);
  CHECK(output.language == "fr");
  CHECK(output.headline_languages == std::vector<std::string>{"de", "en"});
  CHECK(output.preferred_hosts == std::vector<std::string>{"beta.example"});

  const model::Story story =
      story_of({member(1, "alpha.example", "Lead", "https://alpha.example/lead", 1),
                member(2, "beta.example", "Beta", "https://beta.example/b", 2)});
  const RenderedFile file = render_output(output, "https://x.example/", {story}, {});
  CHECK(file.body.find("<language>fr</language>") != std::string::npos);
  CHECK(file.body.find("\xC3\x89galement couvert par :") != std::string::npos);
  CHECK(file.body.find("Also covered by") == std::string::npos);
}

}  // namespace feedmerge::publish
