"""Write the project's interview set (bench/data/interviews.jsonl: 28 peer-support interviews written for the
project in the style of the seed study, CC0) as speaker-labelled .txt files, one per interview, named
`{interview}-{speaker}_{role}.txt`, for the README's discovery demo:

    .venv/bin/python examples/discovery_demo.py demo
    .venv/bin/autocoder import demo/*.txt --codebook bcttv1 --name-pattern '{participant}_{role}.txt'
    .venv/bin/autocoder discover run --codebook bcttv1 --out demo/discovery

Coded with plain BCTTv1, the interviews' relational talk (group 17 of the seed study, not in BCTTv1) is what
the codebook misses. The files carry no codes.
"""

import json
import sys
from itertools import groupby
from pathlib import Path

SET = Path(__file__).resolve().parent.parent / "bench" / "data" / "interviews.jsonl"


def main(out: Path) -> None:
    rows = [json.loads(line) for line in SET.read_text(encoding="utf-8").splitlines() if line.strip()]
    out.mkdir(parents=True, exist_ok=True)
    written = 0
    for transcript, interview in groupby(rows, key=lambda r: r["transcript"]):
        interview = list(interview)
        participant = next(r for r in interview if r["role"] != "interviewer")
        lines = [f"{speaker}: {' '.join(r['text'] for r in turn)}"
                 for (_, speaker), turn in groupby(interview, key=lambda r: (r["turn"], r["speaker"]))
                 for turn in [list(turn)]]
        # The set's participant labels repeat across interviews (PW2 in PS01 and PS15): the file name keeps
        # the interview's id with it, so the participant becomes e.g. "PS01-PW2".
        name = f"{transcript}-{participant['speaker']}_{participant['role']}.txt"
        (out / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
        written += 1
    print(f"wrote {written} interviews to {out}/")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python examples/discovery_demo.py OUT_FOLDER")
    main(Path(sys.argv[1]))
