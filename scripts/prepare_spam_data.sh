#!/usr/bin/env bash
# Regenerates data/spam/{train,test}.csv from the Spambase data shipped in Debian's
# r-cran-kernlab (data set `spam`): 57 real-valued, heavy-tailed columns (word and character
# frequencies, capital-run lengths up to 15,841) and a 0/1 label. Deterministic: the same package
# version gives byte-identical files. The outputs are checked in, so nothing else needs R.
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""
[[ $(id -u) -ne 0 ]] && SUDO=sudo
for p in r-base-core r-cran-kernlab; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || {
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
      r-base-core r-cran-kernlab >/dev/null
    break
  }
done
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
