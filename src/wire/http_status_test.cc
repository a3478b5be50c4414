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

TEST(HttpStatusTest, ErrorBodyCanNameTheCode) {
  EXPECT_EQ(HttpErrorBody(absl::FailedPreconditionError("busy"), /*with_code=*/true),
            R"({"code":"FAILED_PRECONDITION","error":"busy"})");
}

TEST(HttpStatusTest, EveryCodeRoundTripsThroughStatusAndBody) {
  for (int i = 1; i <= 16; ++i) {
    const absl::Status sent(static_cast<absl::StatusCode>(i), "why");
    const absl::Status got = StatusFromHttp(HttpStatusCode(sent), HttpErrorBody(sent, true));
    EXPECT_EQ(got, sent) << got;
  }
}

TEST(HttpStatusTest, AnswersOfOtherServersMapByHttpCode) {
  // Without a "code", the HTTP status decides; the inverse of HttpStatusCode where it is 1:1.
  for (auto code : {absl::StatusCode::kInvalidArgument, absl::StatusCode::kUnauthenticated,
                    absl::StatusCode::kPermissionDenied, absl::StatusCode::kNotFound,
                    absl::StatusCode::kAlreadyExists, absl::StatusCode::kResourceExhausted,
                    absl::StatusCode::kUnimplemented, absl::StatusCode::kUnavailable,
                    absl::StatusCode::kDeadlineExceeded, absl::StatusCode::kInternal}) {
    const absl::Status sent(code, "m");
    EXPECT_EQ(StatusFromHttp(HttpStatusCode(sent), HttpErrorBody(sent)).code(), code) << sent;
  }
  EXPECT_EQ(StatusCodeFromHttp(422), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(StatusCodeFromHttp(429), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(StatusCodeFromHttp(502), absl::StatusCode::kUnavailable);
  // A body that is not ours is the message; an unmapped code is named in it.
  const absl::Status teapot = StatusFromHttp(418, "<html>short and stout</html>");
  EXPECT_EQ(teapot.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(teapot.message(), "HTTP 418: <html>short and stout</html>");
  EXPECT_EQ(StatusFromHttp(500, std::string(2000, 'x')).message().size(), 510u);
  EXPECT_EQ(StatusFromHttp(404, R"({"error":"no job 'a'","code":"BOGUS"})"),
            absl::NotFoundError("no job 'a'"));
}

}  // namespace
}  // namespace parasol
