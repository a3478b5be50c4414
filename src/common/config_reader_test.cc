#include "common/config_reader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace parasol::config {
namespace {

using ::testing::HasSubstr;

struct Settings {
  std::string name;
  int64_t epochs = 1;
  double lr = 0.1;
  bool verbose = false;
  std::vector<std::string> tags;
  std::string inner_mode;
};

void ReadSettings(const Node& root, Settings* s) {
  const Map m = root.AsMap();
  s->name = m.Get<std::string>("name");
  m.Read("epochs", &s->epochs);
  m.Read("lr", &s->lr);
  m.Read("verbose", &s->verbose);
  m.Read("tags", &s->tags);
  if (std::optional<Node> inner = m.Find("inner")) {
    s->inner_mode = inner->AsMap().Get<std::string>("mode");
  }
}

absl::Status ReadText(const std::string& text, Settings* s) {
  return ReadYaml(text, "train.yaml", [&](const Node& root) { ReadSettings(root, s); });
}

TEST(ConfigReaderTest, ReadsTypedValuesFromYaml) {
  Settings s;
  ASSERT_TRUE(ReadText("name: churn\nepochs: 5\nlr: 0.25\nverbose: true\n"
                       "tags: [a, b]\ninner:\n  mode: fast\n",
                       &s)
                  .ok());
  EXPECT_EQ(s.name, "churn");
  EXPECT_EQ(s.epochs, 5);
  EXPECT_DOUBLE_EQ(s.lr, 0.25);
  EXPECT_TRUE(s.verbose);
  EXPECT_EQ(s.tags, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(s.inner_mode, "fast");
}

TEST(ConfigReaderTest, AbsentOptionalKeysKeepDefaults) {
  Settings s;
  ASSERT_TRUE(ReadText("name: x\nlr: ~\n", &s).ok());
  EXPECT_EQ(s.epochs, 1);
  EXPECT_DOUBLE_EQ(s.lr, 0.1);
}

TEST(ConfigReaderTest, WrongTypeNamesFileLineAndField) {
  Settings s;
  const absl::Status st = ReadText("name: x\n\nepochs: many\n", &s);
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(st.message(), "train.yaml:3: epochs: expected an integer, got 'many'");
}

TEST(ConfigReaderTest, NestedFieldsHaveDottedPaths) {
  Settings s;
  const absl::Status st = ReadText("name: x\ninner:\n  mode: [1, 2]\n", &s);
  EXPECT_EQ(st.message(), "train.yaml:3: inner.mode: expected a string, got a list");
}

TEST(ConfigReaderTest, QuotedNumbersAreStrings) {
  Settings s;
  const absl::Status st = ReadText("name: x\nlr: \"0.5\"\n", &s);
  EXPECT_EQ(st.message(), "train.yaml:2: lr: expected a number, got the string \"0.5\"");
}

TEST(ConfigReaderTest, UnknownKeySuggestsTheNearestName) {
  Settings s;
  const absl::Status st = ReadText("name: x\nepcohs: 3\n", &s);
  EXPECT_EQ(st.message(), "train.yaml:2: epcohs: unknown key, did you mean 'epochs'?");
}

TEST(ConfigReaderTest, UnknownKeyFarFromAnyNameListsTheKnownOnes) {
  Settings s;
  const absl::Status st = ReadText("name: x\ninner:\n  mode: a\n  colour: red\n", &s);
  EXPECT_EQ(st.message(), "train.yaml:4: inner.colour: unknown key (known here: mode)");
}

TEST(ConfigReaderTest, MissingRequiredKeyPointsAtAMisspelling) {
  Settings s;
  const absl::Status st = ReadText("nmae: x\n", &s);
  EXPECT_EQ(st.message(), "train.yaml:1: name: required (is 'nmae' a misspelling?)");
}

TEST(ConfigReaderTest, DuplicateKeysAreRefused) {
  Settings s;
  const absl::Status st = ReadText("name: x\nlr: 1\nlr: 2\n", &s);
  EXPECT_EQ(st.message(), "train.yaml:3: lr: duplicate key");
}

TEST(ConfigReaderTest, InvalidYamlSaysWhere) {
  Settings s;
  const absl::Status st = ReadText("name: x\ntags: [a, b\n", &s);
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(st.message(), HasSubstr("train.yaml:"));
  EXPECT_THAT(st.message(), HasSubstr("not valid YAML"));
}

TEST(ConfigReaderTest, RootMustBeAMapping) {
  Settings s;
  EXPECT_EQ(ReadText("- a\n- b\n", &s).message(), "train.yaml:1: expected a mapping, got a list");
  EXPECT_EQ(ReadText("", &s).message(), "train.yaml: expected a mapping, got nothing");
}

TEST(ConfigReaderTest, FailAndParseReportTheNode) {
  auto parse_mode = [](const std::string& text) -> absl::StatusOr<int> {
    if (text == "fast") return 1;
    return absl::InvalidArgumentError("mode '" + text + "' is not fast");
  };
  int mode = 0;
  const absl::Status st = ReadYaml("mode: slow\n", "c.yaml", [&](const Node& root) {
    mode = root.AsMap().Get("mode").Parse(parse_mode);
  });
  EXPECT_EQ(st.message(), "c.yaml:1: mode: mode 'slow' is not fast");
  const absl::Status range = ReadYaml("count: 0\n", "c.yaml", [&](const Node& root) {
    const Node count = root.AsMap().Get("count");
    if (count.As<int>() < 1) count.Fail("must be >= 1");
  });
  EXPECT_EQ(range.message(), "c.yaml:1: count: must be >= 1");
}

TEST(ConfigReaderTest, EntriesAcceptTheUsersOwnKeysInOrder) {
  std::vector<std::string> names;
  const absl::Status st = ReadYaml("env:\n  B: 1\n  A: two\n", "job.yaml", [&](const Node& root) {
    for (const auto& [key, value] : root.AsMap().Get("env").Entries()) {
      names.push_back(key + "=" + value.As<std::string>());
    }
  });
  ASSERT_TRUE(st.ok()) << st;
  EXPECT_EQ(names, (std::vector<std::string>{"B=1", "A=two"}));
}

TEST(ConfigReaderTest, ItemsOfASequenceHaveIndexedPaths) {
  std::string type;
  const absl::Status st =
      ReadYaml("steps:\n  - {type: a}\n  - {tpye: b}\n", "t.yaml", [&](const Node& root) {
        for (const Node& step : root.AsMap().Get("steps").Items()) step.AsMap().Read("type", &type);
      });
  EXPECT_EQ(st.message(), "t.yaml:3: steps[1].tpye: unknown key, did you mean 'type'?");
}

TEST(ConfigReaderTest, AllowMarksKeysReadElsewhere) {
  Settings s;
  const absl::Status st = ReadYaml("name: x\ntransforms: [a]\n", "t.yaml", [&](const Node& root) {
    ReadSettings(root, &s);
    root.AsMap().Allow({"transforms"});
  });
  EXPECT_TRUE(st.ok()) << st;
}

TEST(ConfigReaderTest, InJsonOnlyStringsAreStrings) {
  const nlohmann::json body = {{"name", 5}, {"cpu", 0.5}};
  std::string cpu;
  const absl::Status st = ReadJson(body, "reply", [&](const Node& root) {
    const Map m = root.AsMap();
    cpu = m.Get("cpu").ScalarText();  // a quantity may be either
    m.Get<std::string>("name");
  });
  EXPECT_EQ(st.message(), "reply: name: expected a string, got '5'");
  EXPECT_EQ(cpu, "0.5");
  std::string name;
  ASSERT_TRUE(ReadYaml("name: 5\n", "y.yaml", [&](const Node& root) {
                name = root.AsMap().Get<std::string>("name");
              }).ok());
  EXPECT_EQ(name, "5");  // in YAML a plain scalar is text
}

TEST(ConfigReaderTest, AllowOtherKeysAcceptsWhatTheReaderDoesNotAsk) {
  std::string name;
  const nlohmann::json reply = {{"name", "j"}, {"added_later", 1}, {"inner", {{"x", 1}}}};
  const absl::Status st = ReadJson(reply, "reply", [&](const Node& root) {
    const Map m = root.AsMap();
    m.AllowOtherKeys();
    name = m.Get<std::string>("name");
    m.Get("inner").AsMap();  // other mappings stay strict
  });
  EXPECT_EQ(st.message(), "reply: inner.x: unknown key (known here: )");
  EXPECT_EQ(name, "j");
}

TEST(ConfigReaderTest, RequireSaysWhatIsRequired) {
  const absl::Status st = ReadYaml("nmae: x\n", "j.yaml", [&](const Node& root) {
    root.AsMap().Require("name", "the job's name");
  });
  EXPECT_EQ(st.message(), "j.yaml:1: name: required: the job's name (is 'nmae' a misspelling?)");
}

TEST(ConfigReaderTest, MapFailNamesTheKeyAtItsLine) {
  auto fail_about = [](const std::string& text) {
    return ReadYaml(text, "j.yaml", [&](const Node& root) {
      root.AsMap().Get("train").AsMap().Fail("dir", "needed with every");
    });
  };
  EXPECT_EQ(fail_about("train:\n  every: 1\n  dir: x\n").message(),
            "j.yaml:3: train.dir: needed with every");
  EXPECT_EQ(fail_about("\ntrain:\n  every: 1\n").message(),
            "j.yaml:3: train.dir: needed with every");
}

TEST(ConfigReaderTest, ReadsJsonValuesWithTypes) {
  Settings s;
  const nlohmann::json body = {{"name", "churn"}, {"epochs", 3}, {"lr", 0.5}, {"verbose", false}};
  ASSERT_TRUE(
      ReadJson(body, "request body", [&](const Node& root) { ReadSettings(root, &s); }).ok());
  EXPECT_EQ(s.epochs, 3);
  EXPECT_DOUBLE_EQ(s.lr, 0.5);
  const nlohmann::json wrong = {{"name", "x"}, {"epochs", "3"}};
  const absl::Status st =
      ReadJson(wrong, "request body", [&](const Node& root) { ReadSettings(root, &s); });
  EXPECT_EQ(st.message(), "request body: epochs: expected an integer, got the string \"3\"");
}

TEST(ConfigReaderTest, RefuseUnknownKeysBeforeCheckingAcrossFields) {
  const absl::Status st = ReadYaml("lo: 50\nhii: 100\n", "c.yaml", [&](const Node& root) {
    const Map m = root.AsMap();
    const int64_t lo = m.Get<int64_t>("lo");
    int64_t hi = 10;
    const std::optional<Node> hi_node = m.Find("hi");
    if (hi_node) hi = hi_node->As<int64_t>();
    m.RefuseUnknownKeys();
    if (hi < lo) m.node().Fail("hi must be >= lo");
  });
  EXPECT_EQ(st.message(), "c.yaml:2: hii: unknown key, did you mean 'hi'?");
}

TEST(ConfigReaderTest, IntegersAreRangeChecked) {
  const absl::Status st =
      ReadYaml("n: 99999999999\n", "c.yaml", [&](const Node& root) { root.AsMap().Get<int>("n"); });
  EXPECT_EQ(st.message(), "c.yaml:1: n: expected an integer, got '99999999999'");
  const absl::Status negative =
      ReadYaml("n: -1\n", "c.yaml", [&](const Node& root) { root.AsMap().Get<uint64_t>("n"); });
  EXPECT_EQ(negative.message(), "c.yaml:1: n: expected a whole number >= 0, got '-1'");
}

TEST(ConfigReaderTest, BooleansAcceptYamlSpellingsOnly) {
  bool b = false;
  auto read = [&](const std::string& text) {
    return ReadYaml(text, "c.yaml", [&](const Node& root) { b = root.AsMap().Get<bool>("b"); });
  };
  ASSERT_TRUE(read("b: True\n").ok());
  EXPECT_TRUE(b);
  ASSERT_TRUE(read("b: off\n").ok());
  EXPECT_FALSE(b);
  EXPECT_EQ(read("b: 1\n").message(), "c.yaml:1: b: expected true or false, got '1'");
}

TEST(ConfigReaderTest, DeepNestingIsAnErrorNotACrash) {
  const std::string deep = std::string(500, '[') + std::string(500, ']');
  const absl::Status st = ReadYaml(deep, "c.yaml", [](const Node&) {});
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
}

TEST(ConfigReaderTest, NearestNameNeedsACloseMatch) {
  EXPECT_EQ(NearestName("epcohs", {"epochs", "lr"}), "epochs");
  EXPECT_EQ(NearestName("optimiser", {"optimizer"}), "optimizer");
  EXPECT_EQ(NearestName("colour", {"mode", "name"}), "");
}

}  // namespace
}  // namespace parasol::config
