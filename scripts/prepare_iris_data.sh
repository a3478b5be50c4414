#!/usr/bin/env bash
# Writes data/iris/{train,test}.csv from R's built-in copy of Fisher's iris data (Debian
# r-base-core): columns sepal_length, sepal_width, petal_length, petal_width, species (the
# name) and species_id (setosa 0, versicolor 1, virginica 2). Rows 5, 10, 15, ... (1-based,
# R's order) form the test file (30 rows), the other 120 the training file. Deterministic.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v Rscript >/dev/null || { echo "prepare_iris_data.sh: needs Rscript (apt-get install r-base-core)" >&2; exit 1; }
mkdir -p data/iris
Rscript --vanilla -e '
d <- data.frame(sepal_length = iris$Sepal.Length, sepal_width = iris$Sepal.Width,
                petal_length = iris$Petal.Length, petal_width = iris$Petal.Width,
                species = as.character(iris$Species),
                species_id = as.integer(iris$Species) - 1L)
test <- seq_len(nrow(d)) %% 5 == 0
write.csv(d[!test, ], "data/iris/train.csv", row.names = FALSE, quote = FALSE)
write.csv(d[test, ], "data/iris/test.csv", row.names = FALSE, quote = FALSE)
'
echo "wrote data/iris/train.csv ($(($(wc -l < data/iris/train.csv) - 1)) rows), data/iris/test.csv ($(($(wc -l < data/iris/test.csv) - 1)) rows)"
