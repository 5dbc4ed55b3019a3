"""numpy's `m @ q` + argpartition top-5 over the same snapshots faqsync-bench wrote, for the README.

Run after `swift run -c release faqsync-bench snapshot`:  python3 scripts/bench-numpy.py
The matrix is read through np.memmap of the very same file (page cache warm), like the Swift reader.
"""
import glob
import os
import time

import numpy as np

for path in sorted(glob.glob(".build/bench/snapshot-*.snapshot"), key=os.path.getsize):
    raw = np.memmap(path, dtype=np.uint8, mode="r")
    dim, count = int(raw[32:36].view("<u4")[0]), int(raw[36:40].view("<u4")[0])
    offset = int(raw[40:48].view("<u8")[0])
    m = np.memmap(path, dtype="<f4", mode="r", offset=offset, shape=(count, dim))
    m.sum()  # touch every page once
    rng = np.random.default_rng(42)
    times = []
    for _ in range(200):
        q = rng.standard_normal(dim).astype(np.float32)
        q /= np.linalg.norm(q)
        start = time.perf_counter()
        scores = m @ q
        top = np.argpartition(-scores, 5)[:5]
        top = top[np.argsort(-scores[top])]
        times.append(time.perf_counter() - start)
    times.sort()
    print(f"{count} templates: numpy m @ q + argpartition top-5 p50 {times[100] * 1e3:.2f} ms, p99 {times[198] * 1e3:.2f} ms (N=200)")
