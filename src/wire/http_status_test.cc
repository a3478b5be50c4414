#include "wire/http_status.h"

#include "gtest/gtest.h"

namespace parasol {
namespace {

TEST(HttpStatusTest, MapsCodesToHttp) {
  EXPECT_EQ(HttpStatusCode(absl::OkStatus()), 200);
  EXPECT_EQ(HttpStatusCode(absl::InvalidArgumentError("x")), 400);
  EXPECT_EQ(HttpStatusCode(absl::NotFoundError("x")), 404);
  EXPECT_EQ(HttpStatusCode(absl::ResourceExhaustedError("x")), 413);
  EXPECT_EQ(HttpStatusCode(absl::UnavailableError("x")), 503);
  EXPECT_EQ(HttpStatusCode(absl::UnimplementedError("x")), 501);
  EXPECT_EQ(HttpStatusCode(absl::InternalError("x")), 500);
  EXPECT_EQ(HttpStatusCode(absl::DataLossError("x")), 500);
}

TEST(HttpStatusTest, ErrorBodyIsJsonEvenForInvalidUtf8) {
  EXPECT_EQ(HttpErrorBody(absl::NotFoundError("no model 'x'")), R"({"error":"no model 'x'"})");
  const std::string body = HttpErrorBody(absl::InvalidArgumentError("bad \xff byte"));
  EXPECT_NE(body.find("bad "), std::string::npos);
  EXPECT_EQ(body.front(), '{');
}

}  // namespace
}  // namespace parasol
