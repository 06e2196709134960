"""``python -m predictions.ingest FILE... [--format F] [--mapping JSON] [--errors OUT.csv]``:
parse uploads without Django and print the summary (JSON) and the parse speed."""

from __future__ import annotations

import argparse
import json
import sys
import time

from . import IngestRefused, read_incidents, write_error_csv


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m predictions.ingest", description=__doc__)
    parser.add_argument("files", nargs="+")
    parser.add_argument("--format", default=None)
    parser.add_argument("--mapping", default=None, help="column mapping as JSON text or @file")
    parser.add_argument("--errors", default=None, help="write rejected rows to this CSV")
    args = parser.parse_args(argv)
    mapping = None
    if args.mapping:
        text = args.mapping
        if text.startswith("@"):
            with open(text[1:], encoding="utf-8") as fh:
                text = fh.read()
        mapping = json.loads(text)
    errors = []
    start, cpu = time.perf_counter(), time.process_time()
    try:
        reader = read_incidents(args.files, args.format, mapping)
        for batch in reader:
            errors.extend(batch.errors)
    except IngestRefused as exc:
        print(f"refused ({exc.code}): {exc}", file=sys.stderr)
        return 2
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    summary = reader.summary.as_dict()
    summary["seconds_wall"] = round(wall, 3)
    summary["rows_per_second_cpu"] = round(reader.summary.rows_read / max(cpu, 1e-9))
    print(json.dumps(summary, indent=2))
    if args.errors:
        with open(args.errors, "w", encoding="utf-8", newline="") as out:
            write_error_csv(errors, out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
