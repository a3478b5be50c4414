// FeaturePipeline is the public face over three parts: transform_config (the YAML and JSON
// forms), feature_plan (the config resolved against the schema) and feature_encoder (the rows).
#include "transform/feature_pipeline.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"
#include "transform/feature_encoder.h"
#include "transform/feature_plan.h"
#include "transform/transform_config.h"

namespace parasol {

using transform::Accumulators;
using transform::FeaturePlan;
using transform::TransformSpec;

struct FeaturePipeline::Impl {
  explicit Impl(std::shared_ptr<const FeaturePlan> p)
      : schema(p->schema),
        field_names(p->field_names),
        plan(std::move(p)),
        accumulators(std::make_shared<Accumulators>(plan->normalize_specs.size())) {}

  // Copies that never change (FinishStatistics replaces `plan`), so references stay valid.
  const Schema schema;
  const std::vector<std::string> field_names;
  // Replaced, never mutated, by FinishStatistics; encoders hold their own reference.
  std::shared_ptr<const FeaturePlan> plan;
  // One per normalize transform; shared with statistics encoders.
  const std::shared_ptr<Accumulators> accumulators;
};

FeaturePipeline::FeaturePipeline(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
FeaturePipeline::~FeaturePipeline() = default;

absl::StatusOr<std::shared_ptr<FeaturePipeline>> FeaturePipeline::Create(
    const Schema& schema, const std::string& config_yaml, const std::string& origin,
    int hash_bits) {
  ASSIGN_OR_RETURN(std::vector<TransformSpec> specs,
                   transform::ParseYamlTransforms(config_yaml, origin));
  ASSIGN_OR_RETURN(std::shared_ptr<const FeaturePlan> plan,
                   transform::BuildPlan(schema, std::move(specs), hash_bits, origin));
  auto impl = std::make_unique<Impl>(std::move(plan));
  return std::shared_ptr<FeaturePipeline>(new FeaturePipeline(std::move(impl)));
}

absl::StatusOr<std::shared_ptr<FeaturePipeline>> FeaturePipeline::FromJson(
    const std::string& json) {
  ASSIGN_OR_RETURN(transform::PipelineConfig config, transform::PipelineConfigFromJson(json));
  ASSIGN_OR_RETURN(std::shared_ptr<const FeaturePlan> plan,
                   transform::BuildPlan(config.schema, std::move(config.transforms),
                                        config.hash_bits, transform::kJsonOrigin));
  if (!config.fields.ok()) return config.fields.status();
  if (*config.fields != plan->field_names) {
    return absl::InvalidArgumentError(absl::StrCat(transform::kJsonOrigin, ": fields: [",
                                                   absl::StrJoin(*config.fields, ", "),
                                                   "] does not match the schema and transforms ([",
                                                   absl::StrJoin(plan->field_names, ", "), "])"));
  }
  auto impl = std::make_unique<Impl>(std::move(plan));
  return std::shared_ptr<FeaturePipeline>(new FeaturePipeline(std::move(impl)));
}

std::string FeaturePipeline::ToJson() const {
  const FeaturePlan& p = *impl_->plan;
  return transform::PipelineConfigToJson(p.hash_bits, p.schema, p.specs, p.field_names);
}

bool FeaturePipeline::NeedsStatistics() const { return impl_->plan->needs_stats; }

RowEncoderFactory FeaturePipeline::StatisticsFactory() {
  std::shared_ptr<const FeaturePlan> plan = impl_->plan;
  std::shared_ptr<Accumulators> accumulators = impl_->accumulators;
  return [plan, accumulators](const std::vector<std::string>& names) {
    return transform::MakeFeatureEncoder(plan, names, accumulators, /*label_optional=*/false);
  };
}

absl::Status FeaturePipeline::FinishStatistics() {
  if (impl_->plan->normalize_specs.empty()) return absl::OkStatus();
  ASSIGN_OR_RETURN(std::shared_ptr<const FeaturePlan> plan,
                   transform::FinishPlanStatistics(*impl_->plan, *impl_->accumulators));
  impl_->plan = std::move(plan);
  return absl::OkStatus();
}

RowEncoderFactory FeaturePipeline::EncoderFactory(bool label_optional) const {
  std::shared_ptr<const FeaturePlan> plan = impl_->plan;
  return [plan, label_optional](
             const std::vector<std::string>& names) -> absl::StatusOr<std::unique_ptr<RowEncoder>> {
    if (plan->needs_stats) {
      return absl::FailedPreconditionError(
          "feature pipeline: normalize statistics are not computed; run the rows through "
          "StatisticsFactory() encoders and call FinishStatistics() before EncoderFactory()");
    }
    return transform::MakeFeatureEncoder(plan, names, nullptr, label_optional);
  };
}

int FeaturePipeline::num_fields() const {
  return static_cast<int>(impl_->plan->field_names.size());
}

const std::vector<std::string>& FeaturePipeline::field_names() const { return impl_->field_names; }

int FeaturePipeline::hash_bits() const { return impl_->plan->hash_bits; }

const Schema& FeaturePipeline::schema() const { return impl_->schema; }

}  // namespace parasol
