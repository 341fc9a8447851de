"""A region query on a large remote BAM: bytes fetched and time, against samtools and a download.

In one run, through a broker on the local store whose data URLs lead through a counting proxy:
  - `score-tui --batch view --query REGION` (the index, then only the blocks it points to);
  - Debian `samtools view URL##idx##INDEX_URL REGION` on the pre-signed URLs;
  - `score-tui --batch download` of the whole file (then a local `samtools view`).
"Needed" is the BAM header, the index and the BGZF blocks the index gives for the region (what
htslib reads); the target is score-tui fetching at most 1.1x that.

    .venv/bin/python -m benchmarks.view_region [--size-mib 1200] [--region chr1:1,000-2,000]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pysam

from score_tui.slicing.bai import BaiIndex
from tests.support.broker import BrokerProcess
from tests.support.store_proxy import StoreProxy

READ = 100
CONTIG = ("chr1", 248_956_422)


def write_bam(path: Path, size: int) -> None:
    """A sorted BAM of about `size` bytes: random reads from a pool (little compression)."""
    rng = random.Random(1)
    pool = [
        (
            "".join(rng.choices("ACGT", k=READ)),
            pysam.qualitystring_to_array(
                "".join(chr(33 + rng.randrange(2, 41)) for _ in range(READ))
            ),
        )
        for _ in range(4096)
    ]
    header = {"HD": {"VN": "1.6", "SO": "coordinate"}, "SQ": [{"SN": CONTIG[0], "LN": CONTIG[1]}]}
    reads = size // 130  # about 130 compressed bytes a read
    step = (CONTIG[1] - READ) / reads
    with pysam.AlignmentFile(str(path), "wb", header=header) as out:
        template = pysam.AlignedSegment(out.header)
        template.reference_id, template.cigarstring, template.mapping_quality = 0, f"{READ}M", 60
        for number in range(reads):
            sequence, qualities = pool[rng.randrange(len(pool))]
            template.query_name = f"read{number:09d}"
            template.flag = 16 if number & 1 else 0
            template.reference_start = int(number * step)
            template.query_sequence = sequence
            template.query_qualities = qualities
            out.write(template)
    pysam.index(str(path))


def batch(url: str, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "XDG_STATE_HOME": str(home / "state"),
        "XDG_CONFIG_HOME": str(home / "cfg"),
        "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
        "STORAGE_URL": url,
    }
    command = [sys.executable, "-m", "score_tui", "--batch", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, check=True)


def needed_bytes(bam: Path, bai: Path, region: str) -> int:
    data = bam.read_bytes()
    with pysam.AlignmentFile(str(bam)) as handle:
        header_end = handle.tell() >> 16
    _, _, span = region.replace(",", "").partition(":")
    beg, _, end = span.partition("-")
    total = header_end + 28 + bai.stat().st_size
    for start, stop in BaiIndex.parse(bai.read_bytes()).chunks(0, int(beg) - 1, int(end)):
        last = stop >> 16
        size = int.from_bytes(data[last + 16 : last + 18], "little") + 1 if stop & 0xFFFF else 0
        total += last + size - (start >> 16)
    return total


def timed(action) -> tuple[float, object]:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    result = action()
    return time.perf_counter() - start, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1200)
    parser.add_argument("--region", default="chr1:120,000,000-120,050,000")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="view-bench-") as scratch:
        root = Path(scratch)
        bam = root / "big.bam"
        print(f"writing a {args.size_mib} MiB BAM ...", file=sys.stderr)
        write_bam(bam, args.size_mib * 1024 * 1024)
        bai = Path(f"{bam}.bai")
        proxy = StoreProxy(upstream="").start()
        config = {
            "server": {"data_directory": str(root / "data"), "public_url": proxy.url},
            "storage": {"backend": "local", "local": {"directory": str(root / "store")}},
            "song": {"url": "embedded"},
            "auth": {"enabled": False},
        }
        broker = BrokerProcess(config, root / "broker").start()
        proxy.upstream = broker.url
        try:
            home = root / "home"
            upload = batch(
                broker.url,
                home,
                "--json",
                "upload",
                "--study",
                "BENCH",
                "--access",
                "open",
                "--publish",
                "--file",
                str(bam),
                "--file",
                str(bai),
            )
            ids = {
                f["file"]: f["objectId"]
                for f in json.loads(upload.stdout)["files"]
                if "objectId" in f
            }
            object_id, index_id = ids["big.bam"], ids["big.bam.bai"]

            def fetched() -> int:
                return sum(s.sent for s in proxy.seen if s.method == "GET")

            rows = []
            proxy.seen.clear()
            out = root / "ours.sam"
            seconds, _ = timed(
                lambda: batch(
                    broker.url,
                    home,
                    "view",
                    "--object-id",
                    object_id,
                    "--query",
                    args.region,
                    "--output-file",
                    str(out),
                )
            )
            ours = fetched()
            rows.append(("score-tui view", ours, seconds))

            data_url = batch(broker.url, home, "url", "--object-id", object_id).stdout.strip()
            index_url = batch(broker.url, home, "url", "--object-id", index_id).stdout.strip()
            proxy.seen.clear()
            seconds, done = timed(
                lambda: subprocess.run(
                    [
                        "samtools",
                        "view",
                        f"{data_url}##idx##{index_url}",
                        args.region.replace(",", ""),
                    ],
                    capture_output=True,
                    text=True,
                    check=True,
                    cwd=root,
                )
            )
            rows.append(("samtools view on the URL", fetched(), seconds))
            same = [x for x in out.read_text().splitlines() if not x.startswith("@")] == (
                done.stdout.splitlines()  # type: ignore[attr-defined]
            )

            proxy.seen.clear()
            seconds, _ = timed(
                lambda: batch(
                    broker.url,
                    home,
                    "download",
                    "--object-id",
                    object_id,
                    "--output-dir",
                    str(root / "dl"),
                    "--output-layout",
                    "id",
                    "--index",
                    "false",
                )
            )
            rows.append(("score-tui download (whole)", fetched(), seconds))
        finally:
            broker.stop()
            proxy.stop()
        needed = needed_bytes(bam, bai, args.region)
        size = bam.stat().st_size
        print(
            f"\nBAM {size / 1e9:.2f} GB, region {args.region}; needed (header + index + "
            f"blocks the index gives) {needed:,} bytes; same records as samtools: {same}\n"
        )
        print(f"{'':30}{'bytes fetched':>16}{'x needed':>10}{'seconds':>10}{'time vs ours':>14}")
        for label, count, seconds in rows:
            print(
                f"{label:30}{count:16,}{count / needed:10.2f}{seconds:10.2f}"
                f"{seconds / rows[0][2]:13.1f}x"
            )


if __name__ == "__main__":
    main()
