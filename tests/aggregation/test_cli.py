"""`python -m crowd.aggregation` and the CSV reader behind it (pure: no database)."""

import io
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from crowd.aggregation import encoding
from crowd.aggregation.__main__ import main
from crowd.aggregation.encoding import CsvFormatError, drop_repeats, encode, read_csv_columns, sort_values
from tests.aggregation.data import synthetic

ROOT = Path(__file__).resolve().parents[2]

ANSWERS = """task,worker,label
q1,ann,yes
q1,bob,yes
q1,cyd,no
q2,ann,no
q2,bob,no
q2,cyd,no
q3,ann,yes
q3,bob,no
"""


def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


def rows(text: str) -> list[list[str]]:
    return [line.split(",") for line in text.strip().splitlines()]


@pytest.mark.parametrize("method", ["ds", "mv", "onecoin"])
def test_cli_writes_one_row_per_task_to_stdout(tmp_path, capsys, method):
    answers = write(tmp_path, "answers.csv", ANSWERS)

    assert main([str(answers), "--method", method]) == 0

    out, err = capsys.readouterr()
    table = rows(out)
    assert table[0] == ["task", "label", "confidence"]
    assert [row[0] for row in table[1:]] == ["q1", "q2", "q3"]  # tasks in order of first appearance
    assert table[2][1] == "no" and {row[1] for row in table[1:]} <= {"yes", "no"}
    assert all(0.0 <= float(row[2]) <= 1.0 for row in table[1:])
    assert err.startswith(f"{method}: 8 answers, 3 tasks, 3 workers, 2 classes")


def test_cli_majority_tie_goes_to_the_first_class_in_natural_order(tmp_path, capsys):
    answers = write(tmp_path, "answers.csv", "task,worker,label\nt,a,10\nt,b,9\nu,a,b\nu,b,a\n")

    main([str(answers), "--method", "mv"])

    table = rows(capsys.readouterr().out)
    assert table[1] == ["t", "9", "0.500000"]  # integers by value: 9 before 10
    assert table[2] == ["u", "a", "0.500000"]


def test_cli_out_file_gold_accuracy_and_options(tmp_path, capsys):
    answers = write(tmp_path, "answers.csv", ANSWERS)
    gold = write(tmp_path, "gold.csv", "task,label\nq1,yes\nq3,no\nq9,yes\n")
    out = tmp_path / "out.csv"

    code = main([str(answers), "--gold", str(gold), "--out", str(out), "--max-iter", "5", "--tol", "0"])

    assert code == 0
    _, err = capsys.readouterr()
    assert "5 iterations (not converged)" in err
    assert "on 2 tasks with gold; 1 gold rows name tasks without answers" in err
    assert out.read_text().startswith("task,label,confidence\nq1,yes,")

    main([str(answers), "--gold", str(gold), "--clamp-gold", "--out", str(out)])
    err = capsys.readouterr().err
    assert "accuracy 1.0000 on 2 tasks with gold (gold clamped)" in err
    assert rows(out.read_text())[3][1:] == ["no", "1.000000"]


def test_cli_pools_one_answer_workers_by_default_and_not_with_pool_below_0(tmp_path, capsys):
    module = synthetic()
    answers, truth = module.write_csv(module.scenario_crowd(module.SCENARIOS["one-answer-workers"], 0), tmp_path)
    pooled, plain = tmp_path / "pooled.csv", tmp_path / "plain.csv"

    assert main([str(answers), "--gold", str(truth), "--out", str(pooled)]) == 0
    assert main([str(answers), "--gold", str(truth), "--out", str(plain), "--pool-below", "0"]) == 0

    scores = [float(line.split()[1]) for line in capsys.readouterr().err.splitlines() if line.startswith("accuracy")]
    assert scores[0] > scores[1] + 0.05  # plain maximum likelihood ignores one-answer workers


def test_cli_gold_label_unknown_to_the_answers(tmp_path, capsys):
    answers = write(tmp_path, "answers.csv", ANSWERS)
    gold = write(tmp_path, "gold.csv", "task,label\nq1,maybe\nq2,no\n")
    out = tmp_path / "out.csv"

    main([str(answers), "--gold", str(gold), "--out", str(out)])
    assert "accuracy 0.5000 on 2 tasks" in capsys.readouterr().err

    main([str(answers), "--gold", str(gold), "--out", str(out), "--clamp-gold"])  # the class is added to pin it
    assert rows(out.read_text())[1][1] == "maybe"


def test_cli_duplicates_last_keeps_a_workers_last_answer(tmp_path, capsys):
    answers = write(tmp_path, "answers.csv", "task,worker,label\nt,a,x\nt,a,x\nt,a,y\nt,b,x\n")

    main([str(answers), "--method", "mv"])
    assert rows(capsys.readouterr().out)[1] == ["t", "x", "0.750000"]
    main([str(answers), "--method", "mv", "--duplicates", "last"])
    assert rows(capsys.readouterr().out)[1] == ["t", "x", "0.500000"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            "task,worker,label\nq1,ann,yes\nq1,bob\nq2,ann,no\n",
            "line 3: expected 3 fields (task,worker,label), found 2",
        ),
        ("task,worker,label\nq1,ann,yes\n\nq1,bob,no,extra\n", "line 4: expected 3 fields"),
        ("task,worker,label\nq1,,yes\n", "line 2: empty worker"),
        ("task,person,label\nq1,ann,yes\n", "line 1: header 'task,person,label' lacks column(s) worker"),
        ("", "line 1: empty file"),
        (b"task,worker,label\nq1,ann,yes\nq2,\xff\xfe,no\n", "line 3: not valid UTF-8"),
        (b"task,worker,label\nq1,ann,yes\x00\n", "line 2: NUL byte"),
        ('task,worker,label\nq1,ann,yes\n"q2",bob\n', "line 3: expected 3 fields"),
        ("task,worker,label,task\nq1,ann,yes,q1\n", "line 1: column 'task' appears twice"),
    ],
)
def test_cli_bad_file_names_the_line_and_exits_2(tmp_path, capsys, content, message):
    answers = write(tmp_path, "answers.csv", content)

    assert main([str(answers)]) == 2

    out, err = capsys.readouterr()
    assert out == ""
    assert f"error: {answers}: {message}" in err


def test_cli_reads_stdin(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(ANSWERS.encode())))

    assert main(["-", "--method", "mv"]) == 0

    assert rows(capsys.readouterr().out)[1] == ["q1", "yes", "0.666667"]


def test_cli_missing_file_and_bad_options_exit_2(tmp_path, capsys):
    assert main([str(tmp_path / "nope.csv")]) == 2
    assert "nope.csv: No such file or directory" in capsys.readouterr().err
    answers = write(tmp_path, "answers.csv", ANSWERS)
    bad = (["--method", "em"], ["--max-iter", "0"], ["--clamp-gold"], ["--smoothing", "-1"], ["--pool-below", "-1"])
    for argv in (*bad, ["--method", "mv", "--pool-below", "2"], ["--pool-below", "x"]):
        with pytest.raises(SystemExit) as exit_info:
            code = main([str(answers), *argv])
            raise SystemExit(code)
        assert exit_info.value.code == 2


def test_cli_runs_as_a_module_without_importing_django(tmp_path):
    answers = write(tmp_path, "answers.csv", ANSWERS)
    probe = (
        "import runpy, sys; sys.argv = ['crowd.aggregation', sys.argv[1], '--out', sys.argv[2]]\n"
        "try:\n    runpy.run_module('crowd.aggregation', run_name='__main__')\n"
        "except SystemExit as e:\n    assert e.code == 0, e.code\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('django', 'pandas', 'scipy')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, str(answers), str(tmp_path / "out.csv")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
    assert (tmp_path / "out.csv").read_text().count("\n") == 4

    bad = write(tmp_path, "bad.csv", "task,worker,label\nq1,ann\n")
    failed = subprocess.run(
        [sys.executable, "-m", "crowd.aggregation", str(bad)], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert failed.returncode == 2
    assert "line 2: expected 3 fields" in failed.stderr


def test_reader_crlf_bom_blank_lines_column_order_and_extra_columns(tmp_path):
    path = write(
        tmp_path, "a.csv", b"\xef\xbb\xbfnote,label,worker,task\r\nx,yes,w1,t1\r\n\r\ny,no,w2,t2\r\nz,yes,w1,t1"
    )

    table = read_csv_columns(path, ("task", "worker", "label"))

    assert table.n_rows == 3 and table.line.tolist() == [2, 4, 5]
    assert table.columns["task"].values == ["t1", "t2"] and table.columns["task"].codes.tolist() == [0, 1, 0]
    assert table.columns["label"].values == ["yes", "no"]
    assert table.columns["worker"].codes.tolist() == [0, 1, 0]


def test_reader_long_and_unicode_ids_take_the_hashed_path(tmp_path):
    ids = ["clueweb09-en0000-66-24091", "clueweb09-en0000-66-24092", "short", "ñandú-🐦-x", "clueweb09-en0000-66-24091"]
    body = "task,worker,label\n" + "".join(f"{t},w{i % 2},{i % 3}\n" for i, t in enumerate(ids))
    path = write(tmp_path, "a.csv", body)

    table = read_csv_columns(path, ("task", "worker", "label"))

    assert table.columns["task"].values == ids[:4]
    assert table.columns["task"].codes.tolist() == [0, 1, 2, 3, 0]


def test_reader_short_last_field_after_long_ones_stays_in_bounds(tmp_path):
    path = write(tmp_path, "a.csv", "task,worker,label\na-rather-long-task-identifier-0001,w,x\nab,w,x")

    table = read_csv_columns(path, ("task", "worker", "label"))

    assert table.columns["task"].values == ["a-rather-long-task-identifier-0001", "ab"]


def test_reader_fast_path_agrees_with_the_csv_module(tmp_path):
    rng = random.Random(1)
    alphabet = "abcXYZ019-_. ñé🐦"
    for trial in range(60):
        pool = ["".join(rng.choices(alphabet, k=rng.choice([1, 3, 8, 9, 17, 30]))) for _ in range(rng.randint(1, 8))]
        lines = ["task,worker,label"]
        for _ in range(rng.randint(0, 40)):
            lines.append(",".join(rng.choices(pool, k=3)))
            if rng.random() < 0.05:
                lines.append("")
        newline = rng.choice(["\n", "\r\n"])
        raw = (newline.join(lines) + (newline if trial % 3 else "")).encode()

        fast = read_csv_columns(write(tmp_path, f"{trial}.csv", raw), ("task", "worker", "label"))
        reference = encoding._read_with_csv_module(raw, ("task", "worker", "label"))

        assert fast.line.tolist() == reference.line.tolist()
        for name in ("task", "worker", "label"):
            assert fast.columns[name].values == reference.columns[name].values
            assert fast.columns[name].codes.tolist() == reference.columns[name].codes.tolist()


def test_reader_falls_back_exactly_on_a_hash_collision(tmp_path, monkeypatch):
    ids = [f"a-rather-long-identifier-{i}" for i in range(5)]
    path = write(tmp_path, "a.csv", "task,worker,label\n" + "".join(f"{t},w,{t}\n" for t in ids + ids[:2]))
    monkeypatch.setattr(encoding, "_hash_words", lambda words, length: np.zeros(length.size, dtype=np.uint64))

    table = read_csv_columns(path, ("task", "worker", "label"))

    assert table.columns["task"].values == ids
    assert table.columns["task"].codes.tolist() == [0, 1, 2, 3, 4, 0, 1]


def test_reader_quoted_fields_go_through_the_csv_module(tmp_path):
    path = write(tmp_path, "a.csv", 'task,worker,label\n"Kisumu, Kenya",w1,"say ""hi"""\nplain,w2,x\n')

    table = read_csv_columns(path, ("task", "worker", "label"))

    assert table.columns["task"].values == ["Kisumu, Kenya", "plain"]
    assert table.columns["label"].values == ['say "hi"', "x"]
    assert table.line.tolist() == [2, 3]


def test_cli_quotes_output_fields_that_need_it(tmp_path, capsys):
    answers = write(tmp_path, "answers.csv", 'task,worker,label\n"Kisumu, Kenya",w1,yes\n')

    main([str(answers), "--method", "mv"])

    assert capsys.readouterr().out == 'task,label,confidence\n"Kisumu, Kenya",yes,1.000000\n'


def test_reader_header_only_gives_no_rows(tmp_path):
    table = read_csv_columns(write(tmp_path, "a.csv", "task,worker,label\n"), ("task", "worker", "label"))
    assert table.n_rows == 0 and table.columns["task"].values == []


def test_csv_format_error_is_a_value_error_with_a_line():
    error = CsvFormatError(7, "empty worker")
    assert isinstance(error, ValueError) and error.line == 7 and str(error) == "line 7: empty worker"


def test_encode_sort_values_and_drop_repeats():
    encoded = encode(["b", "a", "b", "c"])
    assert encoded.codes.tolist() == [0, 1, 0, 2] and encoded.values == ["b", "a", "c"] and len(encoded) == 3

    natural = sort_values(encode(["10", "9", "x", "10", "2"]))
    assert natural.values == ["2", "9", "10", "x"] and natural.codes.tolist() == [2, 1, 3, 2, 0]

    keep = drop_repeats(np.array([0, 0, 1, 0, 1]), np.array([5, 5, 5, 6, 5]), n_workers=7)
    assert keep.tolist() == [1, 3, 4]
