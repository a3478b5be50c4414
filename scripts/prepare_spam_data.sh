#!/usr/bin/env bash
# Regenerates data/spam/{train,test}.csv from the Spambase data shipped in Debian's
# r-cran-kernlab (data set `spam`): 57 real-valued, heavy-tailed columns (word and character
# frequencies, capital-run lengths up to 15,841) and a 0/1 label. Deterministic: the same package
# version gives byte-identical files. The outputs are checked in, so nothing else needs R.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/r_packages.sh
ensure_r_packages r-cran-kernlab
mkdir -p data/spam
Rscript --vanilla - <<'R'
data(spam, package = "kernlab")
d <- as.data.frame(spam)
d$spam <- ifelse(d$type == "spam", 1, 0)
d$type <- NULL
# The package keeps all spam rows first: shuffle, since SGD learners see rows in file order.
set.seed(2026)
d <- d[sample.int(nrow(d)), ]
test <- seq_len(round(0.2 * nrow(d)))
write.csv(d[-test, ], "data/spam/train.csv", row.names = FALSE, quote = FALSE)
write.csv(d[test, ], "data/spam/test.csv", row.names = FALSE, quote = FALSE)
R
