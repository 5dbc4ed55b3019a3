"""Times python-calamine on the sheets faqsync-bench generated, for the README's comparison.

Run after `swift run -c release faqsync-bench`:
    pip install python-calamine && python3 scripts/bench-calamine.py
"""
import glob
import os
import statistics
import time

from python_calamine import CalamineWorkbook

paths = ["../shared/fixtures/vtb-belarus-faq.xlsx"] + sorted(glob.glob(".build/bench/generated-*.xlsx"), key=os.path.getsize)
print("file | rows | N | median s (python-calamine: open + read first sheet to Python lists)")
for path in paths:
    times = []
    for _ in range(5):
        start = time.perf_counter()
        rows = CalamineWorkbook.from_path(path).get_sheet_by_index(0).to_python()
        times.append(time.perf_counter() - start)
    print(f"{os.path.basename(path)} | {len(rows)} | 5 | {statistics.median(times):.3f}")
