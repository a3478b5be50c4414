#!/usr/bin/python3
"""PyTorch peer of Parasol's deep models for bench/deep_bench.sh: the same DeepFM and DCN-v2 on
the same libffm files (`label field:idx:1 ...`, one id per field, as `parasol gen --fields`
writes), trained one pass in file order with the same batch size and optimizer, then scored.

    deep_torch.py parse FILE.ffm OUT.npz          # text -> numpy arrays (labels, ids), untimed
    deep_torch.py run --model deepfm|dcn --train TRAIN.npz --test TEST.npz --batch B
                      --epochs E --threads T --vocab V --pred OUT.txt --json OUT.json
    deep_torch.py gemm M K N                     # sgemm GFLOP/s of (M x K)(K x N), numpy/BLAS

Architecture (as src/model/deep_model.h): one embedding row of 16 floats per feature id (the ids
are global, so one table holds every field's features: the same as a table per field) pooled by
sum per field (one id per field here) into x0 (F x 16); MLP 400-400-400 with ReLU, no dropout.
DeepFM: logit = b + sum_i w_i + FM(e) + w_out . MLP(x0), the FM part sharing the embeddings.
DCN-v2 (parallel): x_{l+1} = x0 * (W_l x_l + b_l) + x_l, 3 full-rank layers; logit =
b + w . [MLP(x0), x_L]. Optimizer: embeddings (nn.Embedding(sparse=True)) with SparseAdam,
dense layers with Adam, both lr 0.001 (Parasol: sparse rows and dense layers both Adam, lr
0.001; SparseAdam, like Parasol's row steps, updates only the rows a batch touched).
Initial weights as Parasol's: embeddings uniform in [-0.01, 0.01), linear weights 0, dense
layers Glorot-uniform with zero biases.
"""
import json
import math
import sys
import time

import numpy as np


def parse(path, out):
    labels, ids = [], []
    fields = None
    with open(path, "rb") as f:
        while True:
            chunk = f.readlines(64 << 20)
            if not chunk:
                break
            text = b"".join(chunk).translate(bytes.maketrans(b":\n", b"  "))
            nums = np.fromstring(text, dtype=np.int64, sep=" ")
            if fields is None:
                fields = (len(chunk[0].split()) - 1)
            rows = nums.reshape(len(chunk), 1 + 3 * fields)
            assert (rows[:, 1::3] == np.arange(fields)).all(), "one token per field, in order"
            labels.append(rows[:, 0].astype(np.float32))
            ids.append(rows[:, 2::3].astype(np.int64))
    np.savez(out, labels=np.concatenate(labels), ids=np.concatenate(ids))


def build(torch, kind, fields, vocab, dim=16, hidden=(400, 400, 400), cross=3):
    nn = torch.nn

    def glorot(linear):
        nn.init.xavier_uniform_(linear.weight)
        nn.init.zeros_(linear.bias)
        return linear

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(vocab + 1, dim, sparse=True)
            nn.init.uniform_(self.emb.weight, -0.01, 0.01)
            width = fields * dim
            layers, w = [], width
            for h in hidden:
                layers += [glorot(nn.Linear(w, h)), nn.ReLU()]
                w = h
            self.mlp = nn.Sequential(*layers)
            self.bias = nn.Parameter(torch.zeros(1))
            if kind == "deepfm":
                self.lin = nn.Embedding(vocab + 1, 1, sparse=True)
                nn.init.zeros_(self.lin.weight)
                self.out = nn.Linear(w, 1, bias=False)
            else:
                self.cross = nn.ModuleList([glorot(nn.Linear(width, width)) for _ in range(cross)])
                self.out = nn.Linear(w + width, 1, bias=False)
            nn.init.xavier_uniform_(self.out.weight)

        def forward(self, ids):
            e = self.emb(ids)  # B x F x d
            x0 = e.reshape(e.shape[0], -1)
            h = self.mlp(x0)
            if kind == "deepfm":
                s = e.sum(1)
                fm = 0.5 * (s * s - (e * e).sum(1)).sum(1)
                return self.bias + self.lin(ids).sum((1, 2)) + fm + self.out(h).squeeze(1)
            x = x0
            for layer in self.cross:
                x = x0 * layer(x) + x
            return self.bias + self.out(torch.cat([h, x], 1)).squeeze(1)

    return Model()


def run(args):
    import torch
    opts = dict(zip(args[::2], args[1::2]))
    torch.set_num_threads(int(opts["--threads"]))
    torch.manual_seed(1)
    train = np.load(opts["--train"])
    test = np.load(opts["--test"])
    ids_tr = torch.from_numpy(train["ids"])
    y_tr = torch.from_numpy(train["labels"])
    ids_te = torch.from_numpy(test["ids"])
    fields = ids_tr.shape[1]
    model = build(torch, opts["--model"], fields, int(opts["--vocab"]))
    sparse = [p for n, p in model.named_parameters() if n in ("emb.weight", "lin.weight")]
    dense = [p for n, p in model.named_parameters() if n not in ("emb.weight", "lin.weight")]
    opt_sparse = torch.optim.SparseAdam(sparse, lr=0.001)
    opt_dense = torch.optim.Adam(dense, lr=0.001)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    batch = int(opts["--batch"])
    n = ids_tr.shape[0]
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(int(opts["--epochs"])):
        for b in range(0, n, batch):
            logits = model(ids_tr[b:b + batch])
            loss = loss_fn(logits, y_tr[b:b + batch])
            opt_sparse.zero_grad()
            opt_dense.zero_grad()
            loss.backward()
            opt_sparse.step()
            opt_dense.step()
    train_s, train_cpu_s = time.perf_counter() - t0, time.process_time() - c0
    t0 = time.perf_counter()
    preds = []
    with torch.no_grad():
        for b in range(0, ids_te.shape[0], 4096):
            preds.append(torch.sigmoid(model(ids_te[b:b + 4096])))
    p = torch.cat(preds).numpy()
    predict_s = time.perf_counter() - t0
    np.savetxt(opts["--pred"], p, fmt="%.6g")
    r = {"train_s": train_s, "train_cpu_s": train_cpu_s, "train_examples_per_s": n * int(opts["--epochs"]) / train_s,
         "predict_s": predict_s, "predict_examples_per_s": len(p) / predict_s,
         "torch": torch.__version__, "threads": torch.get_num_threads()}
    json.dump(r, open(opts["--json"], "w"))
    print(json.dumps(r))


def gemm(m, k, n):
    a = np.random.rand(m, k).astype(np.float32)
    b = np.random.rand(k, n).astype(np.float32)
    np.dot(a, b)
    reps, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < 2.0:
        np.dot(a, b)
        reps += 1
    s = (time.perf_counter() - t0) / reps
    print(f"{2.0 * m * k * n / s / 1e9:.1f}")


if __name__ == "__main__":
    if sys.argv[1] == "parse":
        parse(sys.argv[2], sys.argv[3])
    elif sys.argv[1] == "run":
        run(sys.argv[2:])
    elif sys.argv[1] == "gemm":
        gemm(*(int(x) for x in sys.argv[2:5]))
