#!/usr/bin/env bash
# Regenerates data/churn/{train,test}.csv from the IBM Telco customer churn sample shipped in
# Debian's r-cran-modeldata (data set `wa_churn`, MIT licence). Deterministic: the same package
# version gives byte-identical files. The outputs are checked in, so nothing else needs R.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/r_packages.sh
ensure_r_packages r-cran-modeldata
mkdir -p data/churn
Rscript --vanilla - <<'R'
data(wa_churn, package = "modeldata")
d <- as.data.frame(wa_churn)
for (c in names(d)) if (is.factor(d[[c]])) d[[c]] <- as.character(d[[c]])
set.seed(2026)
test <- sort(sample.int(nrow(d), size = round(0.2 * nrow(d))))
write_split <- function(x, path) {
  write.table(x, path, sep = ",", quote = TRUE, na = "", row.names = FALSE,
              qmethod = "double", fileEncoding = "UTF-8")
}
write_split(d[-test, ], "data/churn/train.csv")
write_split(d[test, ], "data/churn/test.csv")
R
wc -l data/churn/train.csv data/churn/test.csv
