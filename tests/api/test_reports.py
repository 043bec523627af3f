"""Reports from confirmed codes: the seed paper's Table 2 reproduced cell for cell, exemplar quotes, counts,
plots, and exports of segments and decisions in CSV, JSONL and Parquet."""

import csv
import io
import json
import re

import pyarrow.parquet as pq
import pytest

from tests.conftest import add_user, shared_path

SEED = ("seeds", "002_2b51a645f57a8a3f.txt")  # Marks et al. (2022), with Table 2


def seed_table2() -> dict[str, tuple[str, str]]:
    """code -> (Presence of PW quote, Presence of SP quote) as printed; 'Both'/'Neither' span both columns."""
    cells = {}
    for line in shared_path(*SEED).read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        if len(parts) == 4 and re.fullmatch(r"\d+\.\d+", parts[0]) and not parts[0].endswith(".0"):
            pw, sp = parts[2].strip(), parts[3].strip()
            merged = pw or sp
            cells[parts[0]] = (merged, merged) if merged in ("Both", "Neither") else (pw, sp)
    assert len(cells) == 93, "Table 2 lists every BCTTv1 technique"
    return cells


def code_turns(client, coder, turns: list[dict], codes: list[str], title: str) -> dict:
    """Post a transcript of turns, then have the coder add codes[i] to every sentence of turn i."""
    out = client.post("/transcripts", json={"turns": turns, "title": title}).json()
    decisions = [{"segment_id": s["id"], "action": "add", "code": codes[s["turn_index"]]}
                 for s in out["segments"]]
    response = client.post(f"/transcripts/{out['id']}/decisions", headers=coder, json={"decisions": decisions})
    assert response.status_code == 201, response.text
    return out


@pytest.fixture
def seed_coded(client):
    """The seed's coding: for the 93 BCTTv1 techniques, a sentence by a peer worker and/or a supported peer
    wherever Table 2 says a quote was found (the quotes themselves are in the paper's supplement, which we do
    not have); for the five Relational-aspects BCTs, the seed's own quotes with their speakers."""
    coder = add_user(client.app, "rita", "coder")
    cells = seed_table2()
    book = client.get("/codebooks/bcttv1").json()
    labels = {c["id"]: c["label"] for c in book["codes"]}
    by_role = {"PW": [], "SP": []}
    for code, (pw, sp) in cells.items():
        if pw in ("Yes", "Both"):
            by_role["PW"].append(code)
        if sp in ("Yes", "Both"):
            by_role["SP"].append(code)
    for role, speaker in (("PW", "Interviewee_PW1"), ("SP", "Interviewee_SP2")):
        codes = by_role[role]
        turns = [{"speaker": speaker, "text": f"We worked on {labels[c].lower()} together."} for c in codes]
        code_turns(client, coder, turns, codes, f"{speaker} interview")
    relational = client.get("/codebooks/relational-aspects").json()
    quotes = [(ex["source"].split(",")[0], ex["text"], code["id"]) for code in relational["codes"]
              for ex in code["exemplars"] if ex["source"].startswith("Interviewee_")]
    assert len(quotes) == 9
    for speaker in sorted({q[0] for q in quotes}):
        mine = [q for q in quotes if q[0] == speaker]
        code_turns(client, coder, [{"speaker": speaker, "text": text} for _, text, _ in mine],
                   [code for _, _, code in mine], f"{speaker} interview")
    return cells


def test_table2_reproduces_the_seed_cells(client, seed_coded):
    cells = seed_coded
    rows = {r["code"]: r for r in client.get("/reports/table2").json()}
    assert len(rows) == 98  # BCTTv1's 93 and the five Relational-aspects BCTs
    mismatched = {code: ((rows[code]["pw_quote"], rows[code]["sp_quote"]), cell)
                  for code, cell in cells.items() if (rows[code]["pw_quote"], rows[code]["sp_quote"]) != cell}
    assert mismatched == {}
    # The five new BCTs, as the paper's quotes show them: 17.1 and 17.3 from PWs, 17.2 from both, 17.4-5 SPs.
    assert {c: rows[c]["presence"] for c in ("17.1", "17.2", "17.3", "17.4", "17.5")} == {
        "17.1": "PW", "17.2": "Both", "17.3": "PW", "17.4": "SP", "17.5": "SP"}
    # No consensus recorded: every coder's codes pooled, and the table says so.
    assert rows["1.1"]["group"] == "1 Goals and planning" and rows["1.1"]["source"] == "pooled"
    table = client.get("/reports/table2", params={"format": "markdown", "codebook": "bcttv1"}).text
    assert "source: all coders pooled: a code any of them gave counts, no consensus recorded yet" in table
    assert "| 1.1 | Goal setting (behaviour) | Both | Both |" in table
    assert "| | Total: Yes | 20 | 37 |" in table  # the seed's own totals
    assert "47 of 93 codes have quotes: 10 from PW alone, 27 from SP alone, 10 from both." in table

    # Unconfirmed suggestions are a separate table, and say so.
    unconfirmed = client.get("/reports/table2", params={"source": "suggested", "format": "markdown"}).text
    assert "UNCONFIRMED suggestions" in unconfirmed
    suggested = client.get("/reports/table2", params={"source": "suggested", "threshold": 0.9}).json()
    assert all(r["source"] == "suggested" for r in suggested)
    # At 0.9 only confirmed sentences raise a code (their near-copies in other transcripts take the coder's
    # code at once): every code still present there is one the coders confirmed.
    assert {r["code"] for r in suggested if r["presence"] != "Neither"} <= {
        c for c, r in rows.items() if r["presence"] != "Neither"}


def test_exemplars_counts_plots_and_exports(client, seed_coded):
    quotes = client.get("/reports/exemplars", params={"per_code": 2}).json()
    reciprocity = [q for q in quotes if q["code"] == "17.2"]
    assert {q["speaker"] for q in reciprocity} == {"Interviewee_PW8", "Interviewee_SP1"}  # one per role first
    assert all(q["coders"] == ["rita"] and q["title"].endswith("interview") for q in reciprocity)
    markdown = client.get("/reports/exemplars", params={"format": "markdown"}).text
    assert "## 17.4 Offer confidentiality" in markdown and "— Interviewee_SP4, supported peer;" in markdown

    by_role = list(csv.DictReader(io.StringIO(client.get("/reports/counts", params={"by": "role"}).text)))
    goal = next(r for r in by_role if r["code"] == "1.1")
    assert (goal["peer_worker"], goal["supported_peer"], goal["total"]) == ("1", "1", "2")
    matrix = list(csv.DictReader(io.StringIO(client.get("/reports/counts", params={"by": "group"}).text)))
    assert len(matrix) == 2 + 8 and int(next(r for r in matrix if r["title"] == "Interviewee_SP4 interview")["17"]) > 0

    png = client.get("/reports/plots/code-frequency.png")
    assert png.headers["content-type"] == "image/png" and png.content.startswith(b"\x89PNG")
    # Whole code labels, wrapped rather than cut: the longest one used ends in the figure's text.
    used = [r for r in csv.DictReader(io.StringIO(client.get("/reports/counts").text)) if int(r["total"])]
    longest = max(used, key=lambda r: len(r["label"]))["label"]
    figure = client.get("/reports/plots/code-frequency.svg").text
    assert len(longest) > 42 and longest.split()[-1] in figure
    svg = client.get("/reports/plots/group-heatmap.svg")
    assert svg.headers["content-type"].startswith("image/svg+xml") and b"<svg" in svg.content
    assert client.get("/reports/plots/pie.png").status_code == 422

    rows = [json.loads(line) for line in client.get("/exports/segments.jsonl").text.splitlines()]
    coded = [r for r in rows if r["confirmed_codes"]]
    assert len(coded) == len(rows) and all(r["codes_by_coder"] == {"rita": r["confirmed_codes"]} for r in coded)
    table = pq.read_table(io.BytesIO(client.get("/exports/segments.parquet").content))
    assert table.num_rows == len(rows) and table.column("confirmed_codes").to_pylist() == [r["confirmed_codes"]
                                                                                         for r in rows]
    as_csv = list(csv.DictReader(io.StringIO(client.get("/exports/segments.csv").text)))
    assert [r["confirmed_codes"] for r in as_csv] == ["; ".join(r["confirmed_codes"]) for r in rows]
    decisions = list(csv.DictReader(io.StringIO(client.get("/exports/decisions.csv").text)))
    assert len(decisions) == len(rows) and {d["action"] for d in decisions} == {"add"}
    assert client.get("/exports/segments.xlsx").status_code == 422


def test_markdown_reports_escape_what_users_wrote(client):
    """Labels, quotes and titles are users' text: in Markdown output their HTML is escaped and a '|' cannot
    break Table 2's columns."""
    evil = ("name: evil\ntitle: Evil\nversion: '1'\ncodes:\n  - id: E\n    label: Group\n  - id: E.1\n    parent: E\n"
            "    label: '<img src=x onerror=alert(1)> | split [x](javascript:alert(1))'\n    definition: A code.\n")
    uploaded = client.post("/codebooks", content=evil.encode(), headers={"content-type": "application/yaml"})
    assert uploaded.status_code == 201
    posted = client.post("/transcripts", json={"text": "SP1: She said <b>hi</b> | and left.\n", "codebook": "evil",
                                               "title": "<script>x</script>"}).json()
    segment = posted["segments"][0]["id"]
    assert client.post(f"/segments/{segment}/decisions", json={"action": "add", "code": "E.1"}).status_code == 201
    table = client.get("/reports/table2", params={"format": "markdown", "codebook": "evil"}).text
    assert "<img" not in table and "&lt;img src=x onerror=alert(1)&gt; \\| split" in table
    assert "](javascript" not in table.replace("\\]", "") and "\\[x\\](javascript" in table  # no link forms
    quotes = client.get("/reports/exemplars", params={"format": "markdown", "codebook": "evil"}).text
    assert "<b>" not in quotes and "<script>" not in quotes and "&lt;b&gt;hi&lt;/b&gt; \\| and left." in quotes
